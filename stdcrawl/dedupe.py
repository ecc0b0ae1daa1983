"""Deciding when two records are one story: pure functions, no Scrapy.

From 2022 to mid 2024 the site published many stories twice, at a legacy G1b
hash URL and at a /web/ G2 ``content_`` URL (SITE.md). The list pages give the
pair away (same title in both lists); the content decides: two pages are one
story only when their own content is the same (equal ``content_hash``).
Stories that are only nearly the same (lightly edited) are found by SimHash
fingerprints of their text and reported, never merged.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
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


_MASK64 = (1 << 64) - 1


def simhash(text: str) -> int:
    """A 64-bit SimHash of the text's word 3-grams: near-identical texts differ in few bits.

    Bit i is set when more than half the grams' hashes have bit i set. The 64
    counts are kept bit-sliced (``planes[k]`` holds bit k of every count), so
    adding a hash and comparing the counts with half their number are a few
    whole-integer operations instead of 64 small ones each. Python's own hash
    of the gram (64 bits of SipHash, salted per process) is all a fingerprint
    compared within one run needs: fingerprints are comparable within one process only.
    """
    words = re.findall(r"\w+", text.casefold())
    grams = list(zip(words, words[1:], words[2:], strict=False)) or [tuple(words)]
    planes: list[int] = []
    for gram in grams:
        carry = hash(gram) & _MASK64
        for k, plane in enumerate(planes):
            planes[k], carry = plane ^ carry, plane & carry
            if not carry:
                break
        if carry:
            planes.append(carry)
    # Bit-sliced "count > half", from the highest plane down.
    half = len(grams) // 2
    greater, equal = 0, _MASK64
    for k in range(max(len(planes), half.bit_length()) - 1, -1, -1):
        plane = planes[k] if k < len(planes) else 0
        if half >> k & 1:
            equal &= plane
        else:
            greater |= equal & plane
            equal &= ~plane & _MASK64
    return greater


class NearDuplicates:
    """Finds fingerprints within ``distance`` bits of one seen before.

    The 64 bits are cut into ``distance + 1`` bands: two fingerprints that differ
    in at most ``distance`` bits agree on at least one whole band, so only the
    fingerprints sharing a band with the new one need comparing. Each band is a
    sorted array of (band value, index) packed in 64-bit integers: a few bytes
    per article, where dicts of buckets would take a hundred.
    """

    def __init__(self, distance: int = 6) -> None:
        self.distance = distance
        self.bands = distance + 1
        self.width = 64 // self.bands
        self.fingerprints = array("Q")
        self.keys: list[str] = []
        self.index = [array("Q") for _ in range(self.bands)]

    def _values(self, fingerprint: int) -> list[int]:
        mask = (1 << self.width) - 1
        return [fingerprint >> (band * self.width) & mask for band in range(self.bands)]

    def add(self, fingerprint: int, key: str) -> list[tuple[str, int]]:
        """Register ``key``; return the earlier keys near it, with their distance."""
        near: dict[str, int] = {}
        position = len(self.fingerprints)
        for band, value in zip(self.index, self._values(fingerprint), strict=True):
            at = bisect_left(band, value << 32)
            while at < len(band) and band[at] >> 32 == value:
                other = band[at] & 0xFFFFFFFF
                distance = (fingerprint ^ self.fingerprints[other]).bit_count()
                if distance <= self.distance:
                    near[self.keys[other]] = distance
                at += 1
            band.insert(at, value << 32 | position)
        self.fingerprints.append(fingerprint)
        self.keys.append(key)
        return sorted(near.items())
