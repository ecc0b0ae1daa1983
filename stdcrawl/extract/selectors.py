"""Markup selectors: the fast path of article extraction, one set per template family.

A selector set only narrows the page to the article's parts; the same
text-anchored reader then reads them. When a set misses (a redesign, a mirror's
markup), extraction falls back to reading the whole page's visible text. New
layouts get a new versioned set beside the old one, whose fixtures stay.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Selectors:
    version: str
    breadcrumb: str
    title: str
    meta: str
    content: str  # the container of lead image, caption, byline and body
    editor: str | None = None  # the Editor line, when it sits outside the content


# Legacy .shtml template (G1 2021, G1b 2022 - mid 2024),
# e.g. /English/WorldNews/202205/<hash>.shtml.
LEGACY_V1 = Selectors(
    version="legacy-v1",
    breadcrumb="div.position",
    title="div.article > h1",
    meta="div.article > div.info",
    content="div.article > div#Zoom",
    editor="div.article > div.editor",
)

# /web/ template (G2 mid 2022 - mid 2024, G3 late 2024 on),
# e.g. /web/English/2024-05/08/content_123456.html.
WEB_V1 = Selectors(
    version="web-v1",
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
