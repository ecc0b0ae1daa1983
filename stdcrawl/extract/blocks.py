"""Turn an HTML tree into the page's visible text, one block per rendered line.

This is what makes extraction independent of the site's markup: a browser
breaks lines at block elements and ``<br>``, so the same visible structure
(breadcrumb, title, meta line, caption, byline, paragraphs) comes out of any
template. Each block keeps the few markup facts the readers use as hints:
which block element holds it (the template signature starts there), how much
of it is link text or bold text, and the links it holds.

:func:`read_blocks` is the only walk of a tree in stdcrawl: readers ask
:class:`stdcrawl.extract.page.Page` for lines, which reads each part of a
page once. The walk is iterative (deeply nested pages cannot exhaust the
stack) and linear in the page; no settings, no failure mode (any tree reads).
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


@dataclass(frozen=True, slots=True)
class Picture:
    """What an ``<img>`` says about itself."""

    src: str
    alt: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(slots=True)
class Block:
    """One visible line of the page, or one image (``tag`` "img", ``picture`` set)."""

    text: str
    tag: str  # innermost block element ("p", "div", "td", "h1", ...) or "img"
    link_chars: int = 0
    bold_chars: int = 0
    heading: bool = False  # inside h1-h6
    links: list[Link] = field(default_factory=list)
    # The innermost block element holding the line (the <img> itself for an image):
    # where the template signature starts its path up to <body>.
    container: etree._Element | None = None
    picture: Picture | None = None

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


def _int_attr(el: etree._Element, name: str) -> int | None:
    value = (el.get(name) or "").strip().removesuffix("px")
    return int(value) if value.isdigit() else None


def _hidden(el: etree._Element) -> bool:
    return el.get("hidden") is not None or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


def read_blocks(root: etree._Element, *, strip_comments: bool = True) -> list[Block]:
    """The visible blocks of ``root`` in document order.

    Comments are removed from the tree first (their tails stay): lxml's walk
    does not visit them, and the text after one would be lost; a tree parsed
    without comments (:func:`stdcrawl.extract.page.parse`) can skip that.
    This is the only walk of a tree in stdcrawl; it is one pass, iterative
    (deep nesting cannot exhaust the stack) and does constant work per
    element and per character of text, so its cost is linear in the page.
    """
    if strip_comments:
        etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    if not len(root) and root.tag in BLOCK_TAGS:
        # A childless block element (a title, a meta line): its one line, without setting up a walk.
        if (names := root.keys()) and ("style" in names or "hidden" in names) and _hidden(root):
            return []
        line = normalize_space(root.text) if root.text else ""
        return [Block(line, root.tag, 0, 0, root.tag in HEADING_TAGS, [], root)] if line else []
    blocks: list[Block] = []
    parts: list[str] = []
    links: list[Link] = []
    # Open block elements, innermost last: (tag, element).
    stack: list[tuple[str, etree._Element]] = []
    link_chars = bold_chars = 0
    link_depth = bold_depth = heading_depth = 0
    skipped: set[etree._Element] = set()
    link_stack: list[Link | None] = []  # one entry per open <a>, None for one without href
    leaf: etree._Element | None = None  # the childless block element just read whole at its start
    block_tags, skip_tags, bold_tags, heading_tags = BLOCK_TAGS, SKIP_TAGS, BOLD_TAGS, HEADING_TAGS

    # The text of the open links, gathered as the walk reads it: [link, pieces] per open <a>.
    open_links: list[tuple[Link, list[str]]] = []

    def add(text: str) -> None:
        # Only called inside a link or bold text: elsewhere the walk appends to parts itself.
        nonlocal link_chars, bold_chars
        n = len("".join(text.split()))
        if link_depth:
            link_chars += n
            for _, pieces in open_links:
                pieces.append(text)
        if bold_depth:
            bold_chars += n

    def flush() -> None:
        # Called only with parts to join; the character counts belong to those parts.
        nonlocal parts, links, link_chars, bold_chars
        text = "".join(parts)
        text = " ".join(text.split()) if text.isascii() else normalize_space(text)
        if text:
            tag, container = stack[-1] if stack else ("div", None)
            blocks.append(Block(text, tag, link_chars, bold_chars, heading_depth > 0 or tag in heading_tags, links, container))
            links = []
        parts = []
        link_chars = bold_chars = 0

    # Tags come lower-case from lxml's HTML parser; a tag that is not a string is a node
    # that holds no visible text (an entity, a comment left in a tree built elsewhere).
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            if (
                tag in skip_tags
                or type(tag) is not str
                or ((names := el.keys()) and ("style" in names or "hidden" in names) and _hidden(el))
            ):
                skipped.add(el)
                walker.skip_subtree()
                continue
            if tag in block_tags:
                if parts:
                    flush()
                if not len(el) and not link_depth and not bold_depth:
                    # A block element without children, most paragraphs of a page: its line is
                    # its own text. Read here, so that its end event is only its tail.
                    leaf = el
                    text = el.text
                    if text:
                        text = " ".join(text.split()) if text.isascii() else normalize_space(text)
                        if text:
                            heading = heading_depth > 0 or tag in heading_tags
                            blocks.append(Block(text, tag, 0, 0, heading, links, el))
                            links = []
                    continue
                stack.append((tag, el))
                if tag in heading_tags:
                    heading_depth += 1
            elif tag == "a":
                link_depth += 1
                href = el.get("href")
                link = Link(href.strip(), "") if href else None
                if link is not None:
                    links.append(link)
                    open_links.append((link, []))
                link_stack.append(link)
            elif tag in bold_tags:
                bold_depth += 1
            elif tag == "br":
                if parts:
                    flush()
            elif tag == "img":
                src = next((el.get(a) for a in _IMAGE_SOURCES if el.get(a)), None)
                if src:
                    if parts:
                        flush()
                    alt = normalize_space(el.get("alt") or "") or None
                    picture = Picture(src.strip(), alt, _int_attr(el, "width"), _int_attr(el, "height"))
                    blocks.append(Block("", "img", container=el, picture=picture))
            if el.text:
                parts.append(el.text)
                if link_depth or bold_depth:
                    add(el.text)
            continue
        # end event
        if leaf is not None and el is leaf:
            if el.tail and el is not root:
                parts.append(el.tail)
                if link_depth or bold_depth:
                    add(el.tail)
            continue
        if tag in block_tags:
            if skipped and el in skipped:
                skipped.discard(el)
            else:
                if tag in heading_tags:
                    heading_depth -= 1
                if parts:
                    flush()
                stack.pop()
        elif skipped and el in skipped:
            skipped.discard(el)
        elif tag == "a":
            link_depth -= 1
            if link_stack.pop() is not None:
                link, pieces = open_links.pop()
                link.text = normalize_space("".join(pieces))
        elif tag in bold_tags:
            bold_depth -= 1
        if el.tail and el is not root:
            parts.append(el.tail)
            if link_depth or bold_depth:
                add(el.tail)
    if parts:
        flush()
    return blocks
