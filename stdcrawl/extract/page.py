"""A fetched page as extraction receives it: its text, how it arrived, and its parsed visible lines.

Pure, no Scrapy, no settings. Article and list extraction both start here
(:func:`read_page`): a page is decoded, checked and parsed once, and each of
its lines read once (:class:`Page`, through :func:`.blocks.read_blocks`).

**Charset.** The bytes decide when the declarations lie (a server that says
``utf-8`` for GBK bytes, a template that keeps ``<meta charset=gbk>`` after
the site moved to UTF-8). In order:

1. a byte-order mark names the encoding;
2. bytes that are valid UTF-8 and hold non-ASCII are UTF-8, whatever is
   declared: text in another encoding is almost never valid UTF-8 by accident;
3. otherwise the first declared encoding, the HTTP header's charset then the
   page's own ``<meta>``, that decodes the bytes without an error (a meta
   declaring UTF-16 is read as UTF-8, as browsers do: the meta was readable);
4. otherwise UTF-8, or the declared encoding that decodes with the fewest
   replacement characters (U+FFFD), the first of equals.

Names are WHATWG's (w3lib ``resolve_encoding``: ``gbk`` reads as ``gb18030``,
``latin-1`` as ``cp1252``); the record's ``charset`` is the encoding used and
``replacement_chars`` counts U+FFFD in the decoded page. NUL bytes are dropped.

**Refusals.** A page larger than :data:`MAX_PAGE_CHARS` is no article or list
page, and reading it would cost time and memory out of proportion; a page
that arrived empty or cut off (:func:`damage`) is the network's failure; a
page nested deeper than the parser reads (:data:`MAX_DEPTH`) would lose its
end without a word.
:func:`refusal` and :func:`read_page` give the one-line reason, the caller
decides what to do with it (article extraction raises ``NotAnArticle``, a
list reads as empty).
"""

from __future__ import annotations

import codecs
import threading
from dataclasses import dataclass

from lxml import etree
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

from stdcrawl.extract.blocks import Block, read_blocks
from stdcrawl.text import clean_text

# Article pages are tens of kilobytes; a page this large is not one, and reading it
# would cost time and memory out of proportion (a hostile page of nested divs, say).
MAX_PAGE_CHARS = 2_000_000

DAMAGE = {
    "empty": "empty page",
    "truncated": "truncated page: the document ends before its closing </html>",
}

# One parser per thread (lxml parsers must not be shared between threads): recover from
# broken markup, allow deep trees (up to libxml2's 2048 levels with huge_tree), drop comments
# and processing instructions at parse time so that no walk has to. Plain lxml elements:
# lxml.html's classes add a lookup per element that nothing here needs.
_PARSERS = threading.local()
MAX_DEPTH = 2048  # libxml2's nesting limit with huge_tree: what lies deeper is cut off


def _parser() -> etree.HTMLParser:
    parser: etree.HTMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.HTMLParser(
            recover=True, encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True
        )
    return parser


_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


def damage(page: str | bytes) -> str | None:
    """How a fetched page arrived incomplete (a key of DAMAGE), or None.

    An empty body or a document cut off before ``</html>`` is the server's or
    the network's failure, not the page's: fetching it again may get it whole.
    """
    if isinstance(page, str):  # the same test on text, without encoding it
        head, tail = page[:2048], page[-4096:]
        if not tail.strip() and not page.strip():
            return "empty"
        # The exact lower-case spellings first: lower-casing the head and tail is the slow way.
        opens = "<html" in head or "<html" in head.lower()
        if opens and "</html>" not in tail and "</html>" not in tail.lower():
            return "truncated"
        return None
    if not page[-4096:].strip() and not page.strip():
        return "empty"
    if b"<html" in page[:2048].lower() and b"</html>" not in page[-4096:].lower():
        return "truncated"
    return None


def refusal(text: str) -> str | None:
    """Why a decoded page cannot be read (one line), or None: too large, empty or truncated."""
    if len(text) > MAX_PAGE_CHARS:
        return f"page too large: {len(text)} characters, more than an article page has"
    if kind := damage(text):
        return DAMAGE[kind]
    return None


def _declared(html: bytes, content_type: str | None) -> list[str]:
    """The encodings the page is declared in, header first, as Python codec names, without repeats."""
    found: list[str] = []
    header = http_content_type_encoding(content_type) if content_type else None
    if header:
        found.append(header)
    meta = html_body_declared_encoding(html)
    if meta:
        meta = resolve_encoding(meta) or meta
        found.append("utf-8" if meta in _WIDE else meta)
    known = []
    for name in found:
        try:
            name = codecs.lookup(name).name
        except LookupError:
            continue  # an encoding Python does not know cannot have been meant
        if name not in known:
            known.append(name)
    return [resolve_encoding(n) or n for n in known]


def decode_page(html: str | bytes, content_type: str | None = None) -> tuple[str, str | None]:
    """Text of a page and the encoding it was read in (None for a page given as text); see the module doc."""
    if isinstance(html, str):
        return html.replace("\x00", ""), None
    bom, mark = read_bom(html)
    if bom and mark:
        return html[len(mark) :].decode(bom, "replace").replace("\x00", ""), bom
    if not html.isascii():
        try:
            return html.decode("utf-8").replace("\x00", ""), "utf-8"
        except UnicodeDecodeError:
            pass
    declared = _declared(html, content_type)
    for encoding in declared:
        try:
            return html.decode(encoding).replace("\x00", ""), encoding
        except UnicodeDecodeError:
            continue
    best: tuple[int, str, str] | None = None
    for encoding in [*declared, "utf-8"]:
        text = html.decode(encoding, "replace")
        lost = text.count("\ufffd")
        if best is None or lost < best[0]:
            best = (lost, encoding, text)
    assert best is not None
    return best[2].replace("\x00", ""), best[1]


def decode_html(html: str | bytes, content_type: str | None = None) -> str:
    """The text of :func:`decode_page`."""
    return decode_page(html, content_type)[0]


class PageRefused(ValueError):
    """The parser could not read the whole page; ``str(exc)`` is a one-line reason."""


def parse(text: str) -> etree._Element:
    """The lxml tree of a decoded page (an empty document for text that holds none).

    Raises :class:`PageRefused` when the parser had to stop early (elements
    nested deeper than ``MAX_DEPTH``): the rest of the page would be lost
    without a word, and no article page nests that deep.
    """
    parser = _parser()
    body = text.strip().encode("utf-8", "replace") or b"<html/>"
    root = etree.fromstring(body, parser=parser)
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        raise PageRefused(f"page nested deeper than {MAX_DEPTH} elements: the parser cannot read it whole")
    return root if root is not None else etree.fromstring(b"<html/>", parser=parser)


@dataclass(slots=True)
class Page:
    """One decoded and parsed page: what every reader of it shares.

    Its visible lines are read once and kept, their text already through
    :func:`stdcrawl.text.clean_text`: :meth:`blocks` for the lines of the
    whole ``<body>``, :meth:`lines_of` for one element's (the parts markup
    selectors found), so a reader that only needs some parts never walks the
    rest of the page.
    """

    text: str
    charset: str | None
    root: etree._Element
    _blocks: list[Block] | None = None

    def blocks(self) -> list[Block]:
        """The visible lines of ``<body>`` (of the whole document when it has none), read on first use."""
        if self._blocks is None:
            body = self.root.find("body")
            self._blocks = self.lines_of(body if body is not None else self.root)
        return self._blocks

    def lines_of(self, el: etree._Element) -> list[Block]:
        """The visible lines of one element of the page."""
        blocks = read_blocks(el, strip_comments=False)  # the parser dropped comments already
        for block in blocks:
            if block.text:
                block.text = _clean_line(block.text)
        return blocks

    def titles(self) -> list[str]:
        """The document's own titles (``<title>``, ``og:title``), cleaned, suffix not removed."""
        # The text nodes of every <title>, then every og:title: what //title//text() and
        # //meta[@property='og:title']/@content select, without an XPath evaluation's setup cost.
        found = [str(text) for el in self.root.iter("title") for text in el.itertext()]
        found += [str(content) for el in self.root.iter("meta") if el.get("property") == "og:title" and (content := el.get("content")) is not None]
        return [clean_text(t) for t in found if t.strip()]


def read_page(html: str | bytes, content_type: str | None = None) -> Page | str:
    """Decode, check and parse a page: the :class:`Page`, or the one-line reason it cannot be read."""
    text, charset = decode_page(html, content_type)
    if reason := refusal(text):
        return reason
    try:
        return Page(text, charset, parse(text))
    except PageRefused as exc:
        return str(exc)


def _clean_line(text: str) -> str:
    # Block text is space-normalised already: only tags and "?" damage are left to clean.
    return clean_text(text) if "<" in text or "?" in text else text
