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


def _visible_chars(text: str) -> int:
    return len("".join(text.split()))


def _int_attr(el: etree._Element, name: str) -> int | None:
    value = (el.get(name) or "").strip().removesuffix("px")
    return int(value) if value.isdigit() else None


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.link_chars = 0
        self.bold_chars = 0
        self.links: list[Link] = []
        self.block_tags: list[str] = []
        self.link_depth = 0
        self.bold_depth = 0
        self.heading_depth = 0

    def add(self, text: str | None) -> None:
        if not text:
            return
        self.parts.append(text)
        n = _visible_chars(text)
        if self.link_depth:
            self.link_chars += n
        if self.bold_depth:
            self.bold_chars += n

    def flush(self) -> None:
        text = normalize_space("".join(self.parts))
        if text:
            tag = self.block_tags[-1] if self.block_tags else "div"
            self.blocks.append(
                Block(
                    text,
                    tag,
                    self.link_chars,
                    self.bold_chars,
                    self.heading_depth > 0 or tag in HEADING_TAGS,
                    self.links,
                )
            )
            self.links = []
        self.parts = []
        self.link_chars = self.bold_chars = 0

    def image(self, el: etree._Element) -> None:
        src = next((el.get(a) for a in _IMAGE_SOURCES if el.get(a)), None)
        if not src:
            return
        self.flush()
        self.blocks.append(
            Block(
                "",
                "img",
                src=src.strip(),
                alt=normalize_space(el.get("alt") or "") or None,
                width=_int_attr(el, "width"),
                height=_int_attr(el, "height"),
            )
        )


def _hidden(el: etree._Element) -> bool:
    return el.get("hidden") is not None or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


def read_blocks(root: etree._Element) -> list[Block]:
    """The visible blocks of ``root`` in document order.

    Comments are removed from the tree first (their tails stay): lxml's walk
    does not visit them, and the text after one would be lost.
    """
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    w = _Walker()
    skipped: set[etree._Element] = set()
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if not tag or tag in SKIP_TAGS or _hidden(el):
                skipped.add(el)
                walker.skip_subtree()
                continue
            if tag in BLOCK_TAGS or tag == "br":
                w.flush()
                if tag in BLOCK_TAGS:
                    w.block_tags.append(tag)
            elif tag == "img":
                w.image(el)
            elif tag == "a":
                w.link_depth += 1
                href = el.get("href")
                if href:
                    w.links.append(Link(href.strip(), normalize_space(el.text_content())))
            if tag in BOLD_TAGS:
                w.bold_depth += 1
            if tag in HEADING_TAGS:
                w.heading_depth += 1
            w.add(el.text)
            continue
        # end event
        if el in skipped:
            skipped.discard(el)
        else:
            if tag == "a":
                w.link_depth -= 1
            if tag in BOLD_TAGS:
                w.bold_depth -= 1
            if tag in HEADING_TAGS:
                w.heading_depth -= 1
            if tag in BLOCK_TAGS:
                w.flush()
                w.block_tags.pop()
        if el is not root:
            w.add(el.tail)
    w.flush()
    return w.blocks
