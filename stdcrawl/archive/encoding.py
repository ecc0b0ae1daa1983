"""An exchange as the gzip members of its WARC records: pure work, done by the writer or by a worker process.

:func:`encode` turns one :class:`~stdcrawl.archive.Exchange` into its
``request`` record and its full ``response`` record, each its own gzip member,
for the file whose ``warcinfo`` record has the ID given. It decides nothing:
which file an exchange goes into and whether its payload is a revisit are the
writer's (:class:`~stdcrawl.archive.RunArchive`), which uses an
:class:`Encoded` exchange as it is only while both still hold, and otherwise
builds the records itself with the same :class:`Members`. Arguments and result
pickle, so the crawl has its worker processes (:mod:`stdcrawl.readers`) do the
hashing and compressing, off the crawler's own core.

Records are built and serialised by fastwarc (measured faster than warcio in
``bench/archive_cost.py``), which also adds Content-Length and the block digest.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import cast
from urllib.parse import urlsplit

import fastwarc
from fastwarc.warc import WarcRecord, WarcRecordType

from stdcrawl.archive.records import REFERS_TO_CONTAINER, REVISIT_PROFILE, ArchiveError, Copy, Exchange, warc_date

# zlib's default: as small as level 9 on these pages and a fifth cheaper (bench/archive_cost.py).
COMPRESSION_LEVEL = 6
_HTTP_REQUEST = "application/http; msgtype=request"
_HTTP_RESPONSE = "application/http; msgtype=response"
_Pairs = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class Encoded:
    """One exchange's two records, gzipped, for the file whose warcinfo record is ``warcinfo_id``."""

    warcinfo_id: str
    level: int  # the compression level they were built at
    when: str  # their WARC-Date
    request_id: str
    response_id: str
    sha1: bytes  # of the response body: the payload digest
    request: bytes  # the request record's member
    response: bytes  # the full response record's member


def record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def http_head(start_line: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Start line, headers and the blank line of an HTTP message.

    Joined here rather than through fastwarc's HeaderMap, which costs eight
    times as much for the same bytes (the HTTP head is not WARC framing).
    """
    return b"".join((start_line, b"\r\n", *(b"%s: %s\r\n" % pair for pair in headers), b"\r\n"))


class Members:
    """Builds records as gzip members at one compression level, through one reused buffer (not thread-safe)."""

    def __init__(self, level: int = COMPRESSION_LEVEL) -> None:
        if not 1 <= level <= 9:
            raise ValueError(f"archive compression level {level!r} is not 1-9")
        self.level = level
        self._buffer = io.BytesIO()
        self._gzip = fastwarc.GzipWriter(self._buffer, compression_level=level)

    def record(self, kind: WarcRecordType, record_id: str, url: str | None, when: str, content_type: str,
               block: bytes, headers: Sequence[tuple[str, str]], payload_sha1: bytes | None = None) -> bytes:
        """One record, gzipped as its own member; :class:`ArchiveError` when fastwarc cannot build it."""
        record = WarcRecord()
        record.init_headers(kind, record_id[5:-1].encode())  # without "<urn:" and ">"
        record.headers.set("WARC-Date", when)
        if url is not None:
            record.headers.append("WARC-Target-URI", url)
        record.headers.append("Content-Type", content_type)
        for name, value in headers:
            record.headers.append(name, value)
        record.set_bytes_content(block)
        self._buffer.seek(0)
        self._buffer.truncate()
        try:
            record.write(self._gzip, checksum_data=True, payload_digest=payload_sha1)
            self._gzip.finish()
        except (OSError, ValueError) as exc:
            # The compressor may be left mid-member: start a fresh one for the next record.
            self._buffer = io.BytesIO()
            self._gzip = fastwarc.GzipWriter(self._buffer, compression_level=self.level)
            raise ArchiveError(f"cannot build the {kind} record of {url or 'warcinfo'} ({exc})") from None
        return self._buffer.getvalue()

    def request(self, exchange: Exchange, warcinfo_id: str, request_id: str, response_id: str, when: str) -> bytes:
        """The ``request`` record: the request line and headers as sent (a ``Host`` added when absent), and its body."""
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = cast(_Pairs, exchange.request_headers)  # normalised to bytes by Exchange
        if not any(name.lower() == b"host" for name, _ in headers):
            headers = ((b"Host", parts.netloc.rsplit("@", 1)[-1].encode("idna")), *headers)
        block = http_head(f"{exchange.method} {target} {exchange.protocol}".encode(), headers) + exchange.request_body
        return self.record(WarcRecordType.request, request_id, exchange.url, when, _HTTP_REQUEST, block,
                           [*_common(exchange, warcinfo_id), ("WARC-Concurrent-To", response_id)])

    def response(self, exchange: Exchange, warcinfo_id: str, response_id: str, request_id: str, when: str,
                 sha1: bytes, original: Copy | None = None) -> bytes:
        """The ``response`` record, or with ``original`` the ``revisit`` record pointing at it (head only)."""
        reason = exchange.reason if exchange.reason is not None else _phrase(exchange.status)
        status_line = f"{exchange.protocol} {exchange.status} {reason}".rstrip().encode("utf-8")
        # The body comes without its chunk framing: a Transfer-Encoding header would misdescribe it.
        headers = tuple(h for h in cast(_Pairs, exchange.response_headers) if h[0].lower() != b"transfer-encoding")
        head = http_head(status_line, headers)
        linked = [*_common(exchange, warcinfo_id), ("WARC-Concurrent-To", request_id)]
        if original is None:
            return self.record(WarcRecordType.response, response_id, exchange.url, when, _HTTP_RESPONSE,
                               head + exchange.body, linked, sha1)
        return self.record(WarcRecordType.revisit, response_id, exchange.url, when, _HTTP_RESPONSE, head, [
            *linked,
            ("WARC-Profile", REVISIT_PROFILE),
            ("WARC-Refers-To", original.record_id),
            ("WARC-Refers-To-Target-URI", original.url),
            ("WARC-Refers-To-Date", original.date),
            (REFERS_TO_CONTAINER, original.key),
        ], sha1)


def encode(exchange: Exchange, warcinfo_id: str, level: int = COMPRESSION_LEVEL, *,
           members: Members | None = None, sha1: bytes | None = None) -> Encoded:
    """The exchange's ``request`` and full ``response`` records for the file of ``warcinfo_id``; see the module docstring.

    ``members``: the builder to use (its level then wins); by default this process's own for ``level``.
    ``sha1``: the body's SHA-1 when the caller has it already (the writer does).
    """
    members = members or _members(level)
    when = date_of(exchange)
    request_id, response_id = record_id(), record_id()
    sha1 = sha1 if sha1 is not None else hashlib.sha1(exchange.body).digest()
    return Encoded(warcinfo_id, members.level, when, request_id, response_id, sha1,
                   members.request(exchange, warcinfo_id, request_id, response_id, when),
                   members.response(exchange, warcinfo_id, response_id, request_id, when, sha1))


def date_of(exchange: Exchange) -> str:
    """The WARC-Date of the exchange's records: when its response came (now, if it does not say)."""
    return warc_date(exchange.date or dt.datetime.now(dt.UTC))


@functools.cache
def _members(level: int) -> Members:
    # One per level and process: encode() runs in worker processes and in the crawler's event loop, never in threads.
    return Members(level)


def _common(exchange: Exchange, warcinfo_id: str) -> list[tuple[str, str]]:
    ip = [("WARC-IP-Address", exchange.ip_address)] if exchange.ip_address else []
    return [("WARC-Warcinfo-ID", warcinfo_id), *ip]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
