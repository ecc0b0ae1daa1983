"""List pages and homepage navigation: ``(html, url) -> links``, pure, no Scrapy.

A list page prints a breadcrumb ("position: EnglishChannel > Cooperation"),
then entries newest first: a title linking to the article and a one-paragraph
summary, then a pager. The reader takes the entries between the breadcrumb and
the end of the list, so a sidebar of other stories never counts as the
channel's own: the end is the pager (its page links still count), a known
sidebar or footer line ("Top News", "Copyright"), or, whatever its words, a
short heading followed by a run of bare links once entries with summaries were
read (a sidebar of titles, in a template never seen). Only links to
article-shaped URLs on the site are entries; off-site links (spam mirrors keep
the path and swap the host) are counted.

The page is read once (:func:`.page.read_page`) and each of its lines looked
at once, so a list of ten thousand entries costs what its size costs. A page
that cannot be read (over ``MAX_PAGE_CHARS``, empty, truncated) reads as a
list without entries: the spider counts and logs an empty list page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stdcrawl.extract import anchors
from stdcrawl.extract.blocks import Block
from stdcrawl.extract.page import read_page
from stdcrawl.urls import canonicalize, parse_article_url, parse_list_url


# A paging bar: "1 2 3 ... Next", "< Prev | 4 | Next >", "共5页 首页 上一页".
_PAGER = re.compile(r"^(?:[\d\s.…|<>«»\[\]]|next|prev(?:ious)?|first|last|page|首页|尾页|上一页|下一页|共|页)+$", re.I)


@dataclass(frozen=True, slots=True)
class ListEntry:
    url: str  # canonical
    title: str
    summary: str | None


@dataclass(slots=True)
class Listing:
    section_label: str | None
    entries: list[ListEntry] = field(default_factory=list)
    offsite_links: int = 0  # links in the list region that lead off the site
    other_links: int = 0  # links to the site that are not articles (special topics, paging)
    duplicate_links: int = 0  # an article linked twice on the page
    pages: list[int] = field(default_factory=list)  # page numbers of this list that the page links (its pager)


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    url: str  # canonical


def _body_blocks(html: str | bytes, content_type: str | None) -> list[Block]:
    page = read_page(html, content_type)
    # A page that cannot be read (too large, empty, cut off) has no links to follow.
    return [] if isinstance(page, str) else page.blocks()


def extract_listing(html: str | bytes, url: str, *, content_type: str | None = None) -> Listing:
    """Entries of one list page. ``url`` is the page's canonical URL."""
    blocks = _body_blocks(html, content_type)
    start = next((i for i, b in enumerate(blocks) if anchors.looks_like_crumb_start(b.text)), None)
    crumb = anchors.parse_crumb(blocks[start].text) if start is not None else None
    listing = Listing(crumb.section_label if crumb else None)
    region = blocks[start + 1 :] if start is not None else blocks
    seen: set[str] = set()
    this = parse_list_url(url)
    pages: set[int] = set()
    current: tuple[str, str] | None = None  # (url, title) waiting for its summary
    summary: list[str] = []

    def close() -> None:
        nonlocal current, summary
        if current is not None:
            listing.entries.append(ListEntry(current[0], current[1], " ".join(summary) or None))
        current, summary = None, []

    over = False  # the list's pager was read: links after it are not entries
    for n, block in enumerate(region):
        if anchors.is_end_marker(block.text) and len(block.text.split()) <= 30:
            break
        if not over and _sidebar_heading(region, n) and any(e.summary for e in listing.entries):
            over = True
        article_links = []
        for link in block.links:
            target = canonicalize(link.href, url)
            if target is None:
                listing.offsite_links += link.href.startswith(("http://", "https://", "//"))
            elif parse_article_url(target):
                article_links.append((target, link.text))
            else:
                listing.other_links += 1
                other = parse_list_url(target) if this is not None else None
                if other is not None and this is not None and (other.family, other.list_key) == (this.family, this.list_key):
                    pages.add(other.page)
                    over = over or bool(listing.entries or current)
        if over:
            continue
        if not article_links:
            if block.link_ratio >= 0.5 or _PAGER.match(block.text):
                # Another kind of entry (special topic, off-site copy): what follows is its summary.
                close()
            elif current is not None:
                summary.append(block.text)
            continue
        for target, title in article_links:
            close()
            if target in seen:
                listing.duplicate_links += 1
                continue
            seen.add(target)
            current = (target, title or block.text)
        # An entry printed on one line: the title link, then its summary.
        rest = block.text.removeprefix(article_links[-1][1]).strip() if len(article_links) == 1 else ""
        if rest and current is not None:
            summary.append(rest)
    close()
    listing.pages = sorted(pages)
    return listing


def _sidebar_heading(blocks: list[Block], n: int) -> bool:
    """A short line that is no sentence, followed at once by two or more lines that are only links."""
    block = blocks[n]
    if block.links or not 0 < len(block.text.split()) <= 5 or anchors.ends_sentence(block.text):
        return False
    after = blocks[n + 1 : n + 3]
    return len(after) == 2 and all(b.links and b.link_ratio >= 0.9 for b in after)


def extract_navigation(html: str | bytes, url: str, *, content_type: str | None = None) -> list[NavLink]:
    """Every labelled link to the site on a page, in order (homepage navigation)."""
    return [
        NavLink(link.text, target)
        for block in _body_blocks(html, content_type)
        for link in block.links
        if link.text and (target := canonicalize(link.href, url))
    ]
