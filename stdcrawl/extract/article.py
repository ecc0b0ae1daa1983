"""Article extraction: ``(html, url) -> Article``, pure, no Scrapy.

Two paths lead to the same reader. The fast path finds the article's parts with
the template's selectors (:mod:`.selectors`); the text path finds them in the
page's visible lines by their anchors (breadcrumb, meta line, caption, byline,
Editor line, "Top News", footer), so a page in markup never seen before still
reads. The fast path is only trusted when its result holds up: a title, a meta
line that parses and a non-empty body; otherwise the text path decides. The
record's ``parser`` field names the generation, selector version and path, and
its ``template`` field the signature of the markup around the parts found
(:mod:`.template`), the same from either path.

The page is decoded and parsed once (:func:`.page.read_page`: charset,
size cap, damage); each of its lines is read once, by the fast path (only the
parts its selectors found) or the text path (the whole page). Every step after
that is linear in the number of lines: a page of two hundred thousand tiny
paragraphs or ten thousand links costs what its size costs.

No settings. Failure modes: :class:`NotAnArticle` with a one-line reason (too
large, empty, truncated, nested too deep, no meta line, no title, no body);
no other exception for any input (tests/test_extract_hostile.py,
tests/test_reliability.py).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from stdcrawl.channels import find_channel
from stdcrawl.extract import anchors
from stdcrawl.extract.blocks import Block
from stdcrawl.extract.page import Page, read_page
from stdcrawl.extract.selectors import BY_FAMILY, PageIndex, Selectors
from stdcrawl.extract.template import signature
from stdcrawl.fingerprint import simhash, to_hex
from stdcrawl.record import Article, Image, Section, body_text, content_hash
from stdcrawl.text import cjk_ratio, clean_text, count_words, is_spam_line, split_names
from stdcrawl.urls import canonicalize, parse_article_url

TEXT_READER_VERSION = "text-v1"
_TITLE_SUFFIX = re.compile(r"\s*(?:[-_|–—]\s*)?(?:中国科技网|科技日报|Science and Technology Daily|stdaily)\s*$", re.I)
_JUNK_IMAGE = re.compile(r"logo|icon|qrcode|qr_code|erweima|ewm|share|spacer|blank\.gif|loading|banner|\.svg$", re.I)
_MIN_IMAGE_SIDE = 60
_HAS_WORD = re.compile(r"[^\W_]")  # a letter or a digit
_CRUMB_LINES = 16  # lines one breadcrumb may be split over ("position:", "EnglishChannel", ">", ...)
_CRUMB_WINDOW = 40  # lines above the meta line where the breadcrumb may be


# The channels are a constant table (stdcrawl.channels): a label, once looked up, stays found.
_channel = functools.lru_cache(maxsize=256)(find_channel)


class NotAnArticle(ValueError):
    """The page is not an article page; ``str(exc)`` is a one-line reason."""


@dataclass(slots=True)
class _Head:
    crumb: anchors.Crumb | None
    title: str
    meta: anchors.Meta
    title_blocks: list[Block]  # the lines the title and the meta line were read from: the template signature's
    meta_blocks: list[Block]


@dataclass(slots=True)
class _Content:
    images: list[Image] = field(default_factory=list)
    byline: str | None = None
    editor: str | None = None
    body: list[Section] = field(default_factory=list)
    paragraph_blocks: list[Block] = field(default_factory=list)  # the lines that became body paragraphs


def extract_article(html: str | bytes, url: str, *, content_type: str | None = None) -> Article:
    """Read one article page. ``url`` is the page's canonical URL.

    Raises :class:`NotAnArticle` when the page has no article structure (no
    meta line, no title or no body). Crawl-time fields (``fetched_url``,
    ``summary``, ``crawled_at``, ``aliases``) are left empty for the caller.
    """
    doc = read_page(html, content_type)
    if isinstance(doc, str):
        raise NotAnArticle(doc)
    page = parse_article_url(url)
    family = page.generation.family if page else "web"
    generation = page.generation.value if page else "unknown"

    index: PageIndex | None = None  # built on the first set tried, shared by the next
    for selectors in BY_FAMILY[family]:
        index = index or PageIndex(doc.root)
        found = _fast_path(doc, index, selectors, url)
        if found:
            head, content = found
            path = f"{selectors.version}/selectors"
            break
    else:
        head, content = _text_path(doc, url)
        path = f"{TEXT_READER_VERSION}/text"

    fields: dict[str, Any] = {
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
    channel = _channel(section_label) if section_label else None
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
        template=signature(head.title_blocks, head.meta_blocks, content.paragraph_blocks),
        charset=doc.charset,
        replacement_chars=doc.text.count("\ufffd"),
        **fields,
    )


def _fast_path(doc: Page, index: PageIndex, sel: Selectors, url: str) -> tuple[_Head, _Content] | None:
    found = []
    for part in ("breadcrumb", "title", "meta", "content"):
        elements = sel.find(index, part)
        if len(elements) != 1:
            return None
        found.append(elements[0])
    crumb_el, title_el, meta_el, content_el = found
    meta_blocks = doc.lines_of(meta_el)
    meta = anchors.parse_meta(_line(meta_blocks))
    if meta is None:
        return None
    title_blocks = doc.lines_of(title_el)
    title = clean_text(_line(title_blocks))
    if not title:
        return None
    blocks = doc.lines_of(content_el)
    for editor in sel.find(index, "editor"):
        blocks += doc.lines_of(editor)
    content = _read_content(blocks, url, title)
    if not any(section["paragraphs"] for section in content.body):
        return None
    return _Head(anchors.parse_crumb(_line(doc.lines_of(crumb_el))), title, meta, title_blocks, meta_blocks), content


def _line(blocks: list[Block]) -> str:
    return clean_text(" ".join(b.text for b in blocks))


def _text_path(doc: Page, url: str) -> tuple[_Head, _Content]:
    blocks = doc.blocks()
    found = _find_meta(blocks)
    if found is None:
        raise NotAnArticle("no meta line (Source: ... | date | Author: ...)")
    meta_start, meta_end, meta = found
    crumb, crumb_end = _find_crumb(blocks, meta_start)
    region = blocks[crumb_end:meta_start] if crumb else blocks[max(0, meta_start - 6) : meta_start]
    title, title_block = _find_title(doc, region, crumb)
    if not title:
        raise NotAnArticle("no title before the meta line")
    content = _read_content(blocks[meta_end:], url, title)
    if not any(section["paragraphs"] for section in content.body):
        raise NotAnArticle("no body text after the meta line")
    title_blocks = [title_block] if title_block is not None else []
    return _Head(crumb, title, meta, title_blocks, blocks[meta_start:meta_end]), content


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
    """The breadcrumb nearest above ``before``, joined when its parts are separate lines.

    It is looked for among the ``_CRUMB_WINDOW`` lines above the meta line (only
    the title and a share bar come between them), and at most ``_CRUMB_LINES``
    lines are joined: a breadcrumb has a handful of parts, and a page of
    crumb-like lines must not make each one a long join.
    """
    for i in range(before - 1, max(-1, before - 1 - _CRUMB_WINDOW), -1):
        if blocks[i].is_image or not anchors.looks_like_crumb_start(blocks[i].text):
            continue
        text, j = blocks[i].text, i + 1
        while j < min(before, i + _CRUMB_LINES) and (
            text.endswith(">") or blocks[j].text.startswith(">") or blocks[j].text in {">", "»"}
        ):
            text += " " + blocks[j].text
            j += 1
        crumb = anchors.parse_crumb(text)
        if crumb:
            return crumb, j
    return None, 0


def _find_title(doc: Page, region: list[Block], crumb: anchors.Crumb | None) -> tuple[str | None, Block | None]:
    """The title and the line it was read from (None when it comes from the document's <title>)."""
    candidates = [
        b
        for b in region
        if not b.is_image and b.link_ratio < 0.5 and 0 < len(b.text.split()) <= 40 and not anchors.looks_like_crumb_start(b.text)
    ]
    known = [_TITLE_SUFFIX.sub("", t).casefold() for t in doc.titles()]
    if crumb and crumb.tail and crumb.tail.casefold() != "article":
        known.insert(0, crumb.tail.casefold())
    for block in candidates:
        if block.text.casefold() in known:
            return block.text, block
    headed = [b for b in candidates if b.heading]
    if headed:
        return headed[0].text, headed[0]
    if candidates:
        chosen = candidates[0] if crumb else candidates[-1]
        return chosen.text, chosen
    return (known[0], None) if known and crumb and crumb.tail else (None, None)


def _useful_image(block: Block) -> bool:
    picture = block.picture
    if picture is None:
        return False
    src = picture.src
    if src.startswith("data:") or _JUNK_IMAGE.search(src):
        return False
    sides = [s for s in (picture.width, picture.height) if s is not None]
    return not sides or min(sides) >= _MIN_IMAGE_SIDE


def _image_url(src: str, page_url: str) -> str | None:
    canonical = canonicalize(src, page_url)
    if canonical:
        return canonical
    absolute = urljoin(page_url, src)
    return absolute if absolute.startswith(("http://", "https://")) else None


def _words(text: str) -> int:
    # Block text is space-normalised (single spaces, trimmed): its words are its spaces plus one.
    return text.count(" ") + 1 if text else 0


def _is_heading(block: Block, text: str, following: Callable[[], Block | None]) -> bool:
    """A sub-heading; ``following()`` gives the next line, asked only when the markup does not tell."""
    words = _words(text)
    if not 0 < words <= 20 or block.tag == "li":
        return False
    if block.heading or (block.all_bold and not text.endswith(".")):
        return True
    if words > 14 or anchors.ends_sentence(text) or not (text[0].isupper() or text[0].isdigit()):
        return False
    # Without markup hints: a short unpunctuated line that introduces a longer paragraph.
    after = following()
    if after is None or after.is_image:
        return False
    next_words = _words(after.text)
    return next_words >= 12 and next_words >= 2 * words and anchors.ends_sentence(after.text)


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
    """Read lead image, captions, byline, body and Editor line from the blocks after the meta line.

    One pass, constant work per block: the look-aheads (the next line, a run of
    links, an Editor line further on) move forward with the pass or remember
    what they found, so no block is looked at more than a few times.
    """
    out = _Content()
    slots = _ImageSlots()
    english = cjk_ratio(" ".join(b.text for b in blocks if not b.is_image)) < 0.3
    section: Section = {"heading": None, "paragraphs": []}
    started = False  # a body paragraph or sub-heading was read
    ahead = _Ahead(blocks)
    for n, block in enumerate(blocks):
        if block.is_image:
            if _useful_image(block) and block.picture and (src := _image_url(block.picture.src, url)):
                slots.image(src)
            continue
        text = block.text  # cleaned once, when the page was read
        if not text:
            continue
        if not block.link_chars and not _HAS_WORD.search(text) and not text.startswith("©"):
            # No letter or digit ("·", "* * *", "—"): a separator, not text. Such a line can be
            # no Editor line, end marker ("©" aside) or link: skipping it first costs one search.
            continue
        if editor := anchors.parse_editor(text):
            out.editor = editor
            break
        if anchors.is_end_marker(text) and len(text.split()) <= 30:
            break
        if block.link_ratio >= 0.6:
            # Share buttons before the body and a lone "Related:" link inside it are
            # skipped; a run of links after the body is a sidebar: the article is over.
            if started and _link_run(blocks, n) and not ahead.editor_follows(n):
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
        if _is_heading(block, text, lambda: ahead.following(n)):
            if section["heading"] is not None or section["paragraphs"]:
                out.body.append(section)
            section = {"heading": text, "paragraphs": []}
        else:
            section["paragraphs"].append(text)
            out.paragraph_blocks.append(block)
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


class _Ahead:
    """Look-aheads of :func:`_read_content` that only ever move forward.

    ``following(n)``: the first image or non-empty line after block ``n``.
    ``editor_follows(n)``: an Editor line comes after block ``n`` before any
    end marker. Both are asked with ``n`` growing, so each remembers where it
    stopped: the whole pass looks at each block a bounded number of times,
    where scanning afresh each time was quadratic in a page of ten thousand
    link lines.
    """

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.next_line = 0  # candidate index for following()
        self.stop = -1  # editor_follows: index of the Editor line or end marker found, or len(blocks)
        self.editor = False

    def following(self, n: int) -> Block | None:
        blocks = self.blocks
        at = max(self.next_line, n + 1)
        while at < len(blocks) and not (blocks[at].is_image or blocks[at].text.strip()):
            at += 1
        self.next_line = at
        return blocks[at] if at < len(blocks) else None

    def editor_follows(self, n: int) -> bool:
        if n >= self.stop:
            self.stop, self.editor = len(self.blocks), False
            for at in range(n + 1, len(self.blocks)):
                text = self.blocks[at].text
                if anchors.parse_editor(text):
                    self.stop, self.editor = at, True
                    break
                if anchors.is_end_marker(text):
                    self.stop = at
                    break
        return self.editor
