"""Deciding when two records are one story: pure functions, no Scrapy.

From 2022 to mid 2024 the site published many stories twice, at a legacy G1b
hash URL and at a /web/ G2 ``content_`` URL (SITE.md). The list pages give the
pair away (same title in both lists); the content decides: two pages are one
story only when their own content is the same (equal ``content_hash``).
Stories that are only nearly the same (lightly edited) are found by SimHash
fingerprints of their text (:mod:`stdcrawl.fingerprint`) and reported, never merged.
"""

from __future__ import annotations

import re
from dataclasses import replace

from stdcrawl.record import Article
from stdcrawl.urls import Generation, parse_article_url

_GENERATION_RANK = {Generation.G3: 0, Generation.G2: 1, Generation.G1: 2, Generation.G1B: 3}


def _generation_rank(article: Article) -> int:
    parsed = parse_article_url(article.url)
    return _GENERATION_RANK[parsed.generation] if parsed else len(_GENERATION_RANK)


def title_key(title: str) -> str:
    """Titles compared ignoring case, spacing and punctuation."""
    return re.sub(r"[\W_]+", "", title).casefold()


def merge_twins(first: Article, second: Article) -> list[Article]:
    """One record with the other URL in ``aliases`` when both pages carry the same story.

    The newer generation's URL (G2 over G1b) becomes ``url`` and ``id``, and its
    pictures the ``images``; the other page's URL of each picture is kept in
    that image's ``aliases``, so no URL a consumer may need is lost. When the
    contents differ the two pages are different stories: both are kept.
    """
    if first.content_hash != second.content_hash:
        return [first, second]
    primary, other = sorted((first, second), key=_generation_rank)
    aliases = sorted({*primary.aliases, other.url, *other.aliases} - {primary.url})
    images = [
        {**mine, "aliases": sorted({*mine["aliases"], *theirs["aliases"], *([theirs["url"]] if theirs["url"] else [])} - {mine["url"]})}
        for mine, theirs in zip(primary.images, other.images, strict=True)  # equal captions: as many images
    ]
    return [replace(primary, aliases=aliases, images=images, summary=primary.summary or other.summary,
                    provenance=[*primary.provenance, *other.provenance])]
