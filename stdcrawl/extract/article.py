"""Article extraction: ``(html, url) -> Article``, pure, no Scrapy.

Two paths lead to the same reader. The fast path finds the article's parts with
the template's selectors (:mod:`.selectors`); the text path finds them in the
page's visible lines by their anchors (breadcrumb, meta line, caption, byline,
Editor line, "Top News", footer), so a page in markup never seen before still
reads. The fast path is only trusted when its result holds up: a title, a meta
line that parses and a non-empty body; otherwise the text path decides. The
record's ``parser`` field names the generation, selector version and path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import parsel
from lxml import etree
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, resolve_encoding

from stdcrawl.channels import find_channel
from stdcrawl.extract import anchors
from stdcrawl.extract.blocks import Block, read_blocks
from stdcrawl.extract.selectors import BY_FAMILY, Selectors
from stdcrawl.fingerprint import simhash, to_hex
from stdcrawl.record import Article, Image, Section, body_text, content_hash
from stdcrawl.text import cjk_ratio, clean_text, count_words, is_spam_line, split_names
from stdcrawl.urls import canonicalize, parse_article_url

TEXT_READER_VERSION = "text-v1"
_TITLE_SUFFIX = re.compile(r"\s*(?:[-_|–—]\s*)?(?:中国科技网|科技日报|Science and Technology Daily|stdaily)\s*$", re.I)
_JUNK_IMAGE = re.compile(r"logo|icon|qrcode|qr_code|erweima|ewm|share|spacer|blank\.gif|loading|banner|\.svg$", re.I)
_MIN_IMAGE_SIDE = 60


class NotAnArticle(ValueError):
    """The page is not an article page; ``str(exc)`` is a one-line reason."""


@dataclass(slots=True)
class _Head:
    crumb: anchors.Crumb | None
    title: str
    meta: anchors.Meta


@dataclass(slots=True)
class _Content:
    images: list[Image] = field(default_factory=list)
    byline: str | None = None
    editor: str | None = None
    body: list[Section] = field(default_factory=list)


# Article pages are tens of kilobytes; a page this large is not one, and reading it
# would cost time and memory out of proportion (a hostile page of nested divs, say).
MAX_PAGE_CHARS = 2_000_000


def decode_page(html: str | bytes, content_type: str | None = None) -> tuple[str, str | None]:
    """Text of a page given as bytes, and the encoding it was read in (None for text given as text).

    HTTP charset, then the page's own declaration, then UTF-8. When the HTTP
    header and the page's meta disagree and the bytes are valid UTF-8, UTF-8
    wins: text in another encoding is almost never valid UTF-8 by accident, and
    a wrong header is the commoner mistake. NUL bytes are dropped.
    """
    if isinstance(html, str):
        return html.replace("\x00", ""), None
    header = http_content_type_encoding(content_type) if content_type else None
    meta = html_body_declared_encoding(html)
    if header and meta and resolve_encoding(header) != resolve_encoding(meta):
        try:
            return html.decode("utf-8").replace("\x00", ""), "utf-8"
        except UnicodeDecodeError:
            pass
    encoding, text = html_to_unicode(content_type, html)
    return text.replace("\x00", ""), encoding


def decode_html(html: str | bytes, content_type: str | None = None) -> str:
    """The text of :func:`decode_page`."""
    return decode_page(html, content_type)[0]


DAMAGE = {
    "empty": "empty page",
    "truncated": "truncated page: the document ends before its closing </html>",
}


def damage(page: str | bytes) -> str | None:
    """How a fetched page arrived incomplete (a key of DAMAGE), or None.

    An empty body or a document cut off before ``</html>`` is the server's or
    the network's failure, not the page's: fetching it again may get it whole.
    """
    head, tail = page[:2048], page[-4096:]
    if isinstance(page, str):
        head, tail = head.encode("utf-8", "replace"), tail.encode("utf-8", "replace")
    if not tail.strip() and not page.strip():
        return "empty"
    if b"<html" in head.lower() and b"</html>" not in tail.lower():
        return "truncated"
    return None


def _check_size_and_end(text: str) -> None:
    if len(text) > MAX_PAGE_CHARS:
        raise NotAnArticle(f"page too large: {len(text)} characters, more than an article page has")
    if kind := damage(text):
        raise NotAnArticle(DAMAGE[kind])


def extract_article(html: str | bytes, url: str, *, content_type: str | None = None) -> Article:
    """Read one article page. ``url`` is the page's canonical URL.

    Raises :class:`NotAnArticle` when the page has no article structure (no
    meta line, no title or no body). Crawl-time fields (``fetched_url``,
    ``summary``, ``crawled_at``, ``aliases``) are left empty for the caller.
    """
    text, charset = decode_page(html, content_type)
    _check_size_and_end(text)
    doc = parsel.Selector(text=text)
    page = parse_article_url(url)
    family = page.generation.family if page else "web"
    generation = page.generation.value if page else "unknown"

    for selectors in BY_FAMILY[family]:
        found = _fast_path(doc, selectors, url)
        if found:
            head, content = found
            path = f"{selectors.version}/selectors"
            break
    else:
        head, content = _text_path(doc, url)
        path = f"{TEXT_READER_VERSION}/text"

    fields = {
        "title": head.title,
        "published_at": head.meta.published_at,
        "source": clean_text(head.meta.source) or None,
        "authors": split_names(head.meta.author),
        "byline": content.byline,
        "editor": content.editor or head.meta.editor,
        "images": content.images,
        "body": content.body,
    }
    section_label = head.crumb.section_label if head.crumb else None
    channel = find_channel(section_label) if section_label else None
    plain = body_text(content.body)
    return Article(
        id=page.id if page else "stdaily:" + hashlib.md5(url.encode()).hexdigest(),
        url=url,
        aliases=[],
        fetched_url=None,
        channel=channel.name if channel else section_label,
        section_label=section_label,
        summary=None,
        text=plain,
        word_count=count_words(plain),
        language="zh" if cjk_ratio(plain) > 0.5 else "en",
        content_hash=content_hash(fields),
        fingerprint=to_hex(simhash(plain)),
        crawled_at=None,
        parser=f"{generation}/{path}",
        template=None,
        charset=charset,
        replacement_chars=text.count("\ufffd"),
        **fields,
    )


def _fast_path(doc: parsel.Selector, sel: Selectors, url: str) -> tuple[_Head, _Content] | None:
    parts = [doc.css(css) for css in (sel.breadcrumb, sel.title, sel.meta, sel.content)]
    if any(len(found) != 1 for found in parts):
        return None
    crumb_el, title_el, meta_el, content_el = (found[0].root for found in parts)
    meta = anchors.parse_meta(_line(meta_el))
    title = clean_text(_line(title_el))
    if meta is None or not title:
        return None
    blocks = read_blocks(content_el)
    if sel.editor:
        for editor in doc.css(sel.editor):
            blocks += read_blocks(editor.root)
    content = _read_content(blocks, url, title)
    if not any(section["paragraphs"] for section in content.body):
        return None
    return _Head(anchors.parse_crumb(_line(crumb_el)), title, meta), content


def _line(el: etree._Element) -> str:
    return clean_text(" ".join(b.text for b in read_blocks(el)))


def _text_path(doc: parsel.Selector, url: str) -> tuple[_Head, _Content]:
    body = doc.css("body")
    blocks = read_blocks(body[0].root if body else doc.root)
    for block in blocks:
        block.text = clean_text(block.text)
    found = _find_meta(blocks)
    if found is None:
        raise NotAnArticle("no meta line (Source: ... | date | Author: ...)")
    meta_start, meta_end, meta = found
    crumb, crumb_end = _find_crumb(blocks, meta_start)
    title = _find_title(doc, blocks[crumb_end:meta_start] if crumb else blocks[max(0, meta_start - 6) : meta_start], crumb)
    if not title:
        raise NotAnArticle("no title before the meta line")
    content = _read_content(blocks[meta_end:], url, title)
    if not any(section["paragraphs"] for section in content.body):
        raise NotAnArticle("no body text after the meta line")
    return _Head(crumb, title, meta), content


def _find_meta(blocks: list[Block]) -> tuple[int, int, anchors.Meta] | None:
    """The first meta line, whole or split over up to six short lines."""
    for i, block in enumerate(blocks):
        if block.is_image or not anchors.is_meta_fragment(block.text):
            continue
        pieces, seen, j = [block.text], anchors.meta_fields(block.text), i + 1
        while j < min(i + 6, len(blocks)):
            text = blocks[j].text
            if blocks[j].is_image:
                break
            if text.strip("|｜ ") == "":
                j += 1
                continue
            fields = anchors.meta_fields(text) if anchors.is_meta_fragment(text) else set()
            if not fields or fields & seen:
                break
            pieces.append(text)
            seen |= fields
            j += 1
        if meta := anchors.parse_meta(" | ".join(pieces)):
            return i, j, meta
    return None


def _find_crumb(blocks: list[Block], before: int) -> tuple[anchors.Crumb | None, int]:
    """The breadcrumb nearest above ``before``, joined when its parts are separate lines."""
    for i in range(before - 1, -1, -1):
        if blocks[i].is_image or not anchors.looks_like_crumb_start(blocks[i].text):
            continue
        text, j = blocks[i].text, i + 1
        while j < before and (text.endswith(">") or blocks[j].text.startswith(">") or blocks[j].text in {">", "»"}):
            text += " " + blocks[j].text
            j += 1
        crumb = anchors.parse_crumb(text)
        if crumb:
            return crumb, j
    return None, 0


def _document_titles(doc: parsel.Selector) -> list[str]:
    titles = doc.xpath("//title//text()").getall() + doc.css('meta[property="og:title"]::attr(content)').getall()
    return [_TITLE_SUFFIX.sub("", clean_text(t)) for t in titles if t.strip()]


def _find_title(doc: parsel.Selector, region: list[Block], crumb: anchors.Crumb | None) -> str | None:
    candidates = [
        b.text
        for b in region
        if not b.is_image and b.link_ratio < 0.5 and 0 < len(b.text.split()) <= 40 and not anchors.looks_like_crumb_start(b.text)
    ]
    known = [t.casefold() for t in _document_titles(doc)]
    if crumb and crumb.tail and crumb.tail.casefold() != "article":
        known.insert(0, crumb.tail.casefold())
    for text in candidates:
        if text.casefold() in known:
            return text
    headed = [b.text for b in region if b.heading and b.text in candidates]
    if headed:
        return headed[0]
    if candidates:
        return candidates[0] if crumb else candidates[-1]
    return known[0] if known and crumb and crumb.tail else None


def _useful_image(block: Block) -> bool:
    src = block.src or ""
    if src.startswith("data:") or _JUNK_IMAGE.search(src):
        return False
    sides = [s for s in (block.width, block.height) if s is not None]
    return not sides or min(sides) >= _MIN_IMAGE_SIDE


def _image_url(src: str, page_url: str) -> str | None:
    canonical = canonicalize(src, page_url)
    if canonical:
        return canonical
    absolute = urljoin(page_url, src)
    return absolute if absolute.startswith(("http://", "https://")) else None


def _is_heading(block: Block, text: str, following: Block | None) -> bool:
    words = len(text.split())
    if not 0 < words <= 20 or block.tag == "li":
        return False
    if block.heading or (block.all_bold and not text.endswith(".")):
        return True
    if words > 14 or anchors.ends_sentence(text) or not (text[0].isupper() or text[0].isdigit()):
        return False
    # Without markup hints: a short unpunctuated line that introduces a longer paragraph.
    if following is None or following.is_image:
        return False
    next_words = len(following.text.split())
    return next_words >= 12 and next_words >= 2 * words and anchors.ends_sentence(following.text)


class _ImageSlots:
    """Pairs images with captions in reading order.

    A caption belongs to the image just before it, or to the one just after it
    when it comes first; a caption with no picture near it stays a caption
    (``url`` None) rather than leaking into the body.
    """

    def __init__(self) -> None:
        self.images: list[Image] = []
        self.open: Image | None = None  # last image, still without a caption
        self.pending: Image | None = None  # caption waiting for its image

    def image(self, url: str) -> None:
        if self.pending is not None:
            self.pending["url"] = url
            self.pending = None
            self.open = None
            return
        img: Image = {"url": url, "caption": None, "credit": None, "aliases": []}
        self.images.append(img)
        self.open = img

    def caption(self, caption: str | None, credit: str | None) -> None:
        if self.open is not None:
            self.open["caption"], self.open["credit"] = caption, credit
            self.open = None
            return
        self.flush()
        self.pending = {"url": None, "caption": caption, "credit": credit, "aliases": []}
        self.images.append(self.pending)

    def flush(self) -> None:
        """Text came between: neither an open image nor a pending caption can pair any more."""
        self.open = None
        self.pending = None


def _read_content(blocks: list[Block], url: str, title: str) -> _Content:
    """Read lead image, captions, byline, body and Editor line from the blocks after the meta line."""
    out = _Content()
    slots = _ImageSlots()
    texts = [b for b in blocks if not b.is_image]
    english = cjk_ratio(" ".join(b.text for b in texts)) < 0.3
    section: Section = {"heading": None, "paragraphs": []}
    started = False  # a body paragraph or sub-heading was read
    for n, block in enumerate(blocks):
        if block.is_image:
            if _useful_image(block) and (src := _image_url(block.src or "", url)):
                slots.image(src)
            continue
        text = clean_text(block.text)
        if not text:
            continue
        if editor := anchors.parse_editor(text):
            out.editor = editor
            break
        if anchors.is_end_marker(text) and len(text.split()) <= 30:
            break
        if block.link_ratio >= 0.6:
            # Share buttons before the body and a lone "Related:" link inside it are
            # skipped; a run of links after the body is a sidebar: the article is over.
            if started and _link_run(blocks, n) and not _editor_follows(blocks, n):
                break
            continue
        credit = anchors.split_credit(text)
        if credit or block.tag == "figcaption":
            slots.caption(*(credit or (text, None)))
            continue
        if not started and out.byline is None and (name := anchors.parse_byline(text)):
            out.byline = name
            continue
        if english and is_spam_line(text):
            continue
        if not started and (text == title or anchors.parse_meta(text)):
            continue  # title or meta line repeated inside the content
        slots.flush()
        following = next((b for b in blocks[n + 1 :] if b.is_image or b.text.strip()), None)
        if _is_heading(block, text, following):
            if section["heading"] is not None or section["paragraphs"]:
                out.body.append(section)
            section = {"heading": text, "paragraphs": []}
        else:
            section["paragraphs"].append(text)
        started = True
    if section["heading"] is not None or section["paragraphs"]:
        out.body.append(section)
    while out.body and not out.body[-1]["paragraphs"]:
        out.body.pop()  # a last "heading" that introduces nothing is page furniture ("Share this:")
    out.images = slots.images
    return out


def _link_run(blocks: list[Block], n: int, window: int = 5) -> bool:
    """At least two link lines among the next few: a list of other stories, not one link."""
    ahead = [b for b in blocks[n : n + window] if not b.is_image]
    return sum(1 for b in ahead if b.link_ratio >= 0.6) >= 2 or len(ahead) == 1


def _editor_follows(blocks: list[Block], n: int) -> bool:
    for block in blocks[n + 1 :]:
        text = clean_text(block.text)
        if anchors.parse_editor(text):
            return True
        if anchors.is_end_marker(text):
            return False
    return False
