"""Turn an HTML tree into the page's visible text, one block per rendered line.

This is what makes extraction independent of the site's markup: a browser
breaks lines at block elements and ``<br>``, so the same visible structure
(breadcrumb, title, meta line, caption, byline, paragraphs) comes out of any
template. Each block keeps the few markup facts the readers use as hints:
which block element holds it, how much of it is link text or bold text, and
the links it holds. The walk is iterative, so deeply nested pages cannot
exhaust the stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from stdcrawl.text import normalize_space

BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav ol "
    "p pre section summary table tbody td tfoot th thead tr ul".split()
)
SKIP_TAGS = frozenset(
    "head script style noscript template iframe object embed svg canvas select option button "
    "textarea input audio video map".split()
)
HEADING_TAGS = frozenset("h1 h2 h3 h4 h5 h6".split())
BOLD_TAGS = frozenset({"b", "strong"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_IMAGE_SOURCES = ("data-original", "data-src", "original", "src")


@dataclass(slots=True)
class Link:
    href: str
    text: str


@dataclass(slots=True)
class Block:
    """One visible line of the page, or one image."""

    text: str
    tag: str  # innermost block element ("p", "div", "td", "h1", ...) or "img"
    link_chars: int = 0
    bold_chars: int = 0
    heading: bool = False  # inside h1-h6
    links: list[Link] = field(default_factory=list)
    src: str | None = None  # images only
    alt: str | None = None
    width: int | None = None
    height: int | None = None
    # The innermost block element holding the line (the <img> itself for an image):
    # where the template signature starts its path up to <body>.
    container: etree._Element | None = None

    @property
    def is_image(self) -> bool:
        return self.tag == "img"

    @property
    def chars(self) -> int:
        return len(self.text) - self.text.count(" ")  # the text is space-normalised

    @property
    def link_ratio(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0

    @property
    def all_bold(self) -> bool:
        return self.chars > 0 and self.bold_chars >= self.chars


@dataclass(slots=True)
class Reading:
    """What one walk of a tree gives: its blocks, and where each block element's blocks are.

    ``spans[el]`` is the ``[start, end)`` range of ``blocks`` read inside the
    block element ``el``: a block element starts and ends lines, so its
    blocks are exactly that range. Markup selectors use it to find a part's
    lines without walking the tree again.
    """

    blocks: list[Block]
    spans: dict[etree._Element, tuple[int, int]]

    def inside(self, el: etree._Element) -> list[Block] | None:
        """The blocks read inside block element ``el``; None when ``el`` is no block element of the walk."""
        span = self.spans.get(el)
        return None if span is None else self.blocks[span[0] : span[1]]


def _int_attr(el: etree._Element, name: str) -> int | None:
    value = (el.get(name) or "").strip().removesuffix("px")
    return int(value) if value.isdigit() else None


def _hidden(el: etree._Element) -> bool:
    return el.get("hidden") is not None or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


def read(root: etree._Element) -> Reading:
    """The visible blocks of ``root`` in document order, and the span of each block element.

    Comments are removed from the tree first (their tails stay): lxml's walk
    does not visit them, and the text after one would be lost. This is the
    only walk of a tree in stdcrawl; it is one pass, iterative (deep nesting
    cannot exhaust the stack) and does constant work per element and per
    character of text, so its cost is linear in the page.
    """
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    blocks: list[Block] = []
    spans: dict[etree._Element, tuple[int, int]] = {}
    parts: list[str] = []
    links: list[Link] = []
    # Open block elements: (tag, element, index of the first block read inside it).
    stack: list[tuple[str, etree._Element, int]] = []
    link_chars = bold_chars = 0
    link_depth = bold_depth = heading_depth = 0
    skipped: set[etree._Element] = set()

    def add(text: str) -> None:
        nonlocal link_chars, bold_chars
        parts.append(text)
        if link_depth or bold_depth:
            n = len("".join(text.split()))
            if link_depth:
                link_chars += n
            if bold_depth:
                bold_chars += n

    def flush() -> None:
        nonlocal parts, links, link_chars, bold_chars
        if parts:
            text = normalize_space("".join(parts))
            if text:
                tag, container, _ = stack[-1] if stack else ("div", None, 0)
                blocks.append(
                    Block(text, tag, link_chars, bold_chars, heading_depth > 0 or tag in HEADING_TAGS, links, container=container)
                )
                links = []
            parts = []
        link_chars = bold_chars = 0

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        tag = tag.lower() if isinstance(tag, str) else ""
        if event == "start":
            if not tag or tag in SKIP_TAGS or ((el.get("hidden") is not None or el.get("style")) and _hidden(el)):
                skipped.add(el)
                walker.skip_subtree()
                continue
            if tag in BLOCK_TAGS:
                flush()
                stack.append((tag, el, len(blocks)))
            elif tag == "br":
                flush()
            elif tag == "a":
                link_depth += 1
                href = el.get("href")
                if href:
                    links.append(Link(href.strip(), normalize_space("".join(el.itertext()))))
            elif tag == "img":
                src = next((el.get(a) for a in _IMAGE_SOURCES if el.get(a)), None)
                if src:
                    flush()
                    alt = normalize_space(el.get("alt") or "") or None
                    width, height = _int_attr(el, "width"), _int_attr(el, "height")
                    blocks.append(Block("", "img", src=src.strip(), alt=alt, width=width, height=height, container=el))
            if tag in BOLD_TAGS:
                bold_depth += 1
            elif tag in HEADING_TAGS:
                heading_depth += 1
            if el.text:
                add(el.text)
            continue
        # end event
        if skipped and el in skipped:
            skipped.discard(el)
        elif tag in BLOCK_TAGS:
            if tag in HEADING_TAGS:
                heading_depth -= 1
            flush()
            _, _, start = stack.pop()
            spans[el] = (start, len(blocks))
        elif tag == "a":
            link_depth -= 1
        elif tag in BOLD_TAGS:
            bold_depth -= 1
        if el is not root and el.tail:
            add(el.tail)
    flush()
    return Reading(blocks, spans)


def read_blocks(root: etree._Element) -> list[Block]:
    """The visible blocks of ``root`` in document order (see :func:`read`)."""
    return read(root).blocks
