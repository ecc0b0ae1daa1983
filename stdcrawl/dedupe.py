"""Deciding when two records are one story: pure functions, no Scrapy.

From 2022 to mid 2024 the site published many stories twice, at a legacy G1b
hash URL and at a /web/ G2 ``content_`` URL (SITE.md). The list pages give the
pair away (same title in both lists); the content decides: two pages are one
story only when their own content is the same (equal ``content_hash``).
Stories that are only nearly the same (lightly edited) are found by SimHash
fingerprints of their text and reported, never merged.
"""

from __future__ import annotations

import hashlib
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

    The newer generation's URL (G2 over G1b) becomes ``url`` and ``id``. When
    the contents differ the two pages are different stories: both are kept.
    """
    if first.content_hash != second.content_hash:
        return [first, second]
    primary, other = sorted((first, second), key=_generation_rank)
    aliases = sorted({*primary.aliases, other.url, *other.aliases} - {primary.url})
    return [replace(primary, aliases=aliases, summary=primary.summary or other.summary)]


def simhash(text: str, bits: int = 64) -> int:
    """A 64-bit SimHash of the text's word 3-grams: near-identical texts differ in few bits."""
    words = re.findall(r"\w+", text.casefold())
    grams = [" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))]
    weights = [0] * bits
    for gram in grams:
        h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(bits):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(bits) if weights[bit] > 0)


class NearDuplicates:
    """Finds fingerprints within ``distance`` bits of one seen before.

    The 64 bits are cut into ``distance + 1`` bands: two fingerprints that differ
    in at most ``distance`` bits agree on at least one whole band, so only the
    fingerprints sharing a band with the new one need comparing.
    """

    def __init__(self, distance: int = 6) -> None:
        self.distance = distance
        self.bands = distance + 1
        self.width = 64 // self.bands
        self.index: list[dict[int, list[tuple[int, str]]]] = [{} for _ in range(self.bands)]

    def _keys(self, fingerprint: int) -> list[int]:
        mask = (1 << self.width) - 1
        return [fingerprint >> (band * self.width) & mask for band in range(self.bands)]

    def add(self, fingerprint: int, key: str) -> list[tuple[str, int]]:
        """Register ``key``; return the earlier keys near it, with their distance."""
        near: dict[str, int] = {}
        for band, value in enumerate(self._keys(fingerprint)):
            for other, other_key in self.index[band].get(value, ()):
                d = (fingerprint ^ other).bit_count()
                if d <= self.distance:
                    near[other_key] = d
            self.index[band].setdefault(value, []).append((fingerprint, key))
        return sorted(near.items())
