"""Markup selectors: the fast path of article extraction, one set per template family.

**What they were written from.** The live site's HTML is unknown (SITE.md):
only its visible text and URLs were ever seen. Both sets below were written
from the replica's templates (``stdcrawl/replica/render.py``: the legacy
``.shtml`` and the ``/web/`` ``article_page``), which are themselves a guess at
the live markup. On the live site they are expected to miss, and a miss costs
nothing: the text-anchored reader reads the page from its visible lines, and
the record says so in ``parser`` (``.../text``). What tells a template change
from a selector miss is the record's ``template`` signature
(:mod:`.template`), the same whichever path read the page; run monitors should
compare it with the site's own history, never with these selectors.

A set only narrows the page to the article's parts; the same reader then reads
the lines of those parts, each part's subtree once, and nothing else of the
page: the navigation, the sidebar and the footer are never walked. That is
what makes the fast path faster than the text path, which must read every
line of the page to find its anchors (measured in bench/extraction.py; the
two give the same records, tests/test_replica.py checks it on every page of
the replica). When the parts are found but do not hold up (no meta line, no
title, no body), the text path reads the whole page after all.

New layouts get a new versioned set beside the old one, whose fixtures stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cssselect import HTMLTranslator
from lxml import etree

# The translation parsel uses for HTML: class tokens, ids, child combinators as CSS means them.
_CSS = HTMLTranslator()


@dataclass(frozen=True, slots=True)
class Selectors:
    version: str
    written_from: str  # where the selectors come from: never the live site, whose markup is unknown
    example: str  # a URL of the template's kind (a replica page; the same path on the live site)
    breadcrumb: str
    title: str
    meta: str
    content: str  # the container of lead image, caption, byline and body
    editor: str | None = None  # the Editor line, when it sits outside the content
    _compiled: dict[str, etree.XPath] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Compiled once, at import: a CSS selector translated on every page would cost more than the page.
        for part in ("breadcrumb", "title", "meta", "content", "editor"):
            css = getattr(self, part)
            if css:
                self._compiled[part] = etree.XPath(_CSS.css_to_xpath(css))

    def find(self, root: etree._Element, part: str) -> list[etree._Element]:
        """The elements of ``root`` that ``part`` ("breadcrumb", "title", ...) selects, in document order."""
        xpath = self._compiled.get(part)
        found = xpath(root) if xpath is not None else []
        return [el for el in found if isinstance(el, etree._Element)] if isinstance(found, list) else []


LEGACY_V1 = Selectors(
    version="legacy-v1",
    written_from="the replica's legacy .shtml template (render.article_page, G1 2021 and G1b 2022 - mid 2024)",
    example="https://www.stdaily.com/English/WorldNews/2021-11/11/content_1225013.shtml",
    breadcrumb="div.position",
    title="div.article > h1",
    meta="div.article > div.info",
    content="div.article > div#Zoom",
    editor="div.article > div.editor",
)

WEB_V1 = Selectors(
    version="web-v1",
    written_from="the replica's /web/ template (render.article_page, G2 mid 2022 - mid 2024, G3 late 2024 on)",
    example="https://www.stdaily.com/web/English/2024-05/08/content_123456.html",
    breadcrumb="div.crumbs",
    title="div.detail > h2.detail-title",
    meta="div.detail > .detail-info",
    content="div.detail > div.detail-content",
    editor="div.detail > .detail-editor",
)

BY_FAMILY: dict[str, tuple[Selectors, ...]] = {
    "legacy": (LEGACY_V1, WEB_V1),
    "web": (WEB_V1, LEGACY_V1),
}
