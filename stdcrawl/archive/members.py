"""The gzip members of a WARC file written one record per member: byte ranges and plain bytes.

The WARC libraries read a file as one stream and pass over what does not fit
(fastwarc 2.0 returns a short block for a member cut off at the end of a
file), so the checker and the recovery of a dead run's files walk the members
themselves with zlib: a member that ends early, bytes that are not gzip, or a
member holding more than one record are found here, at their offsets.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Member:
    offset: int  # of the member's first byte in the file
    size: int  # compressed bytes
    plain: bytes  # what it inflates to


@dataclass(frozen=True, slots=True)
class Damage:
    """Where the members stop making sense, and why; nothing after it is read."""

    offset: int
    reason: str


def members(stream: BinaryIO) -> Iterator[Member | Damage]:
    """The file's members in order, then at most one :class:`Damage` if it does not end cleanly."""
    offset = 0  # start of the current member
    fed = 0  # compressed bytes of the current member given to zlib so far
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    plain: list[bytes] = []
    pending = b""
    while True:
        if not pending:
            pending = stream.read(_CHUNK)
            if not pending:
                if fed:
                    yield Damage(offset, f"gzip member cut off after {fed} bytes")
                return
        try:
            plain.append(inflater.decompress(pending))
        except zlib.error as exc:
            yield Damage(offset, f"not a gzip member ({exc})")
            return
        if inflater.eof:
            rest = inflater.unused_data
            size = fed + len(pending) - len(rest)
            yield Member(offset, size, b"".join(plain))
            offset += size
            fed, plain, pending = 0, [], rest
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        else:
            fed += len(pending)
            pending = b""
