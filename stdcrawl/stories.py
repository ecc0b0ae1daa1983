"""What a story is, and when two pages are one: pure functions, no Scrapy.

A story is its own content: title, publication time, authors, byline, caption
texts and credits, body (``content_hash``, :mod:`stdcrawl.record`). Not its URL,
its pictures' URLs, its sidebar or its template. From 2022 to mid 2024 the site
published many stories twice, at a legacy G1b hash URL and at a /web/ G2
``content_`` URL, from two CMSs that keep the pictures at their own paths
(docs/site.md). The list pages give the pair away (:func:`pair_twins`: same title in
both lists); the content decides (:func:`merge_twins`: equal ``content_hash``).
The same identity decides everywhere else: the dedupe pipeline drops a second
record of the same content in a run, and the state pipeline takes a story met
under its other URL on a later run for the story it already knows (same id).
Stories that are only nearly the same (lightly edited) are found by SimHash
fingerprints of their text (:mod:`stdcrawl.fingerprint`) and reported, never merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from stdcrawl.extract.listing import ListEntry
from stdcrawl.record import Article, Image
from stdcrawl.text import fold_key
from stdcrawl.urls import ArticleURL, Generation, parse_article_url

TWIN_GENERATIONS = (Generation.G1B, Generation.G2)

_GENERATION_RANK = {Generation.G3: 0, Generation.G2: 1, Generation.G1: 2, Generation.G1B: 3}


def _generation_rank(article: Article) -> int:
    parsed = parse_article_url(article.url)
    return _GENERATION_RANK[parsed.generation] if parsed else len(_GENERATION_RANK)


def pair_twins(parked: Iterable[tuple[ArticleURL, ListEntry]]) -> list[tuple[ListEntry, ListEntry | None]]:
    """G2 entries with their G1b twin (the same title, compared by :func:`stdcrawl.text.fold_key`) when
    there is one; G1b entries without a G2 twin alone. Each entry appears once, the G2 entry first."""
    parked = list(parked)
    legacy: dict[str, list[ListEntry]] = {}
    for article, entry in parked:
        if article.generation is Generation.G1B:
            legacy.setdefault(fold_key(entry.title), []).append(entry)
    pairs: list[tuple[ListEntry, ListEntry | None]] = []
    for article, entry in parked:
        if article.generation is Generation.G2:
            twins = legacy.get(fold_key(entry.title))
            pairs.append((entry, twins.pop(0) if twins else None))
    return pairs + [(entry, None) for entries in legacy.values() for entry in entries]


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
    images: list[Image] = [
        {**mine, "aliases": sorted({*mine["aliases"], *theirs["aliases"], *([theirs["url"]] if theirs["url"] else [])} - {mine["url"]})}
        for mine, theirs in zip(primary.images, other.images, strict=True)  # equal captions: as many images
    ]
    return [replace(primary, aliases=aliases, images=images, summary=primary.summary or other.summary,
                    provenance=[*primary.provenance, *other.provenance])]
