"""Text fingerprints: a 64-bit SimHash, stable across processes and machines, and a near-duplicate index.

Pure, no Scrapy. A record carries its fingerprint as 16 hex digits
(:func:`to_hex`); two texts whose fingerprints differ in few bits are near
duplicates (a lightly edited copy).
"""

from __future__ import annotations

import re
from array import array
from hashlib import blake2b
from itertools import compress

_WORD = re.compile(r"\w+")
# On ASCII text the words of _WORD, lower-cased, by one translation: every byte that is no
# word character ([A-Za-z0-9_]) becomes a space, capitals become small letters.
_ASCII_WORDS = bytes(
    (ord(chr(b).lower()) if chr(b).isalnum() or b == 0x5F else 0x20) if b < 128 else 0x20 for b in range(256)
)
_BLAKE2B_64 = blake2b(digest_size=8)  # copied per gram: cheaper than building one with its parameters
_CHUNK = 1 << 16  # grams counted at a time: bounds the bit matrix at 4 MB


def _grams(text: str) -> list[bytes]:
    """The word 3-grams of ``text`` (casefolded), words joined by U+001F, as UTF-8."""
    if text.isascii():  # casefold() is lower() and \w the same set on ASCII: skip the encoding per gram
        words = text.encode("ascii").translate(_ASCII_WORDS).split()
        return list(map(b"\x1f".join, zip(words, words[1:], words[2:], strict=False))) or [b"\x1f".join(words)]
    unicode_words = _WORD.findall(text.casefold())
    joined = map("\x1f".join, zip(unicode_words, unicode_words[1:], unicode_words[2:], strict=False))
    return [gram.encode() for gram in joined] or ["\x1f".join(unicode_words).encode()]


def simhash(text: str) -> int:
    """A 64-bit SimHash of the text's word 3-grams: near-identical texts differ in few bits.

    Bit i is set when more than half the grams' hashes have bit i set (a text
    of fewer than three words is one gram). Each gram is hashed with BLAKE2b
    (64 bits, read big-endian), not Python's salted ``hash()``: the same text has
    the same fingerprint in every process and on every machine, so fingerprints
    stored by one run can be compared with the next run's. The hashing is the
    cost (one C call per gram); the 64 bit counts are one numpy reduction over
    the unpacked digests, a chunk of grams at a time. tests/test_text.py checks
    it against the definition written out bit by bit, and across processes
    with different ``PYTHONHASHSEED``.
    """
    # numpy (11 MB resident) is loaded by the first call: in the extraction workers, not in the crawler,
    # which only compares fingerprints.
    import numpy as np

    grams = _grams(text)
    counts = np.zeros(64, dtype=np.int64)
    for at in range(0, len(grams), _CHUNK):
        digests = bytearray()
        for gram in grams[at : at + _CHUNK]:
            h = _BLAKE2B_64.copy()
            h.update(gram)
            digests += h.digest()
        counts += np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(-1, 64).sum(axis=0, dtype=np.int64)
    # unpackbits reads each byte most significant bit first: column 0 is bit 63 of the big-endian digest.
    return int.from_bytes(np.packbits(counts > len(grams) // 2).tobytes(), "big")


class NearDuplicates:
    """Finds fingerprints within ``distance`` bits of one seen before.

    The 64 bits are cut into ``distance + 1`` bands: two fingerprints that differ
    in at most ``distance`` bits agree on at least one whole band, so only the
    fingerprints sharing a band value with the new one need comparing. Each band
    maps its values (at most 2**width of them, however many stories) to the
    fingerprints holding it and their positions, in two flat arrays: 12 bytes a
    story a band, appended in O(1). A bucket is compared in C (map, compress),
    not a Python step per candidate: the replica's fingerprints cluster, one band
    value holding 7.6 % of its stories, and so may a real site's.
    """

    def __init__(self, distance: int = 6) -> None:
        self.distance = distance
        self.bands = distance + 1
        self.width = 64 // self.bands
        self.keys: list[str] = []
        self.index: list[dict[int, tuple[array[int], array[int]]]] = [{} for _ in range(self.bands)]

    def _values(self, fingerprint: int) -> list[int]:
        mask = (1 << self.width) - 1
        return [fingerprint >> (band * self.width) & mask for band in range(self.bands)]

    def add(self, fingerprint: int, key: str) -> list[tuple[str, int]]:
        """Register ``key``; return the earlier keys near it, with their distance."""
        near: dict[str, int] = {}
        position = len(self.keys)
        within = self.distance.__ge__
        for band, value in zip(self.index, self._values(fingerprint), strict=True):
            bucket = band.get(value)
            if bucket is None:
                band[value] = (array("Q", (fingerprint,)), array("I", (position,)))
                continue
            fingerprints, positions = bucket
            close = map(within, map(int.bit_count, map(fingerprint.__xor__, fingerprints)))
            for other, at in compress(zip(fingerprints, positions, strict=True), close):
                near[self.keys[at]] = (fingerprint ^ other).bit_count()
            fingerprints.append(fingerprint)
            positions.append(position)
        self.keys.append(key)
        return sorted(near.items())


def to_hex(fingerprint: int) -> str:
    return f"{fingerprint:016x}"


def from_hex(text: str) -> int:
    return int(text, 16)
