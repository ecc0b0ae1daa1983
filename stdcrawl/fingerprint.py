"""Text fingerprints: a 64-bit SimHash, stable across processes and machines, and a near-duplicate index.

Pure, no Scrapy. A record carries its fingerprint as 16 hex digits
(:func:`to_hex`); two texts whose fingerprints differ in few bits are near
duplicates (a lightly edited copy).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from hashlib import blake2b

_MASK64 = (1 << 64) - 1


def simhash(text: str) -> int:
    """A 64-bit SimHash of the text's word 3-grams: near-identical texts differ in few bits.

    Bit i is set when more than half the grams' hashes have bit i set. The 64
    counts are kept bit-sliced (``planes[k]`` holds bit k of every count), so
    adding a hash and comparing the counts with half their number are a few
    whole-integer operations instead of 64 small ones each. Each gram is hashed
    with BLAKE2b (64 bits), not Python's salted ``hash()``: the same text has the
    same fingerprint in every process and on every machine, so fingerprints
    stored by one run can be compared with the next run's.
    """
    words = re.findall(r"\w+", text.casefold())
    grams = list(zip(words, words[1:], words[2:], strict=False)) or [tuple(words)]
    planes: list[int] = []
    for gram in grams:
        carry = int.from_bytes(blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")
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


def to_hex(fingerprint: int) -> str:
    return f"{fingerprint:016x}"


def from_hex(text: str) -> int:
    return int(text, 16)
