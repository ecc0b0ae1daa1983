"""The archive's vocabulary: what goes in (an exchange), what comes back (where it went), and names.

Plain frozen dataclasses, no Scrapy and no WARC library: the writer, the reader,
the checker, the crawl's downloader middleware and the state store all speak these.

- :class:`Exchange`: one request and the response it got, as bytes and tuples.
  Bad values (a relative URL, a status outside 100-599, a naive date, a header
  holding a line break) raise ``ValueError`` with a one-line message when the
  exchange is built, before anything is written.
- :class:`Copy`: where one payload is archived in full (a ``response`` record):
  what the state store keeps as "the last copy of URL X" between runs, and what
  a record's ``provenance`` points at.
- :class:`Stored`: what :meth:`stdcrawl.archive.RunArchive.write` returns.
- :class:`ArchivedFile`: a closed WARC file, for the run's manifest.
- :class:`ArchiveError`: the one exception the package raises for a file that
  cannot be written or read; its message is one line.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stdcrawl.lake import run_folder
from stdcrawl.record import Provenance

DATASET = "warc"
# The identical-payload-digest revisit profile of WARC 1.1 (section 6.7.2).
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# The IIPC's hint naming the container that holds a revisit's original (warc-specifications
# issue 111, in use by browsertrix-crawler): here the original's key below the lake root.
REFERS_TO_CONTAINER = "WARC-Refers-To-Container"

_DT = re.compile(r"\d{4}-\d{2}-\d{2}")
_RUN_ID = re.compile(r"[A-Za-z0-9._-]+")
_KEY = re.compile(r"stdaily/warc/dt=\d{4}-\d{2}-\d{2}/run=[A-Za-z0-9._-]+/[0-9]+\.warc\.gz")
_RECORD_ID = re.compile(r"<urn:uuid:[0-9a-f-]{36}>")
_DIGEST = re.compile(r"sha1:[A-Z2-7]{32}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN_BYTES = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_URL = re.compile(r"https?://[^/?#\s]+\S*")
_PROTOCOL = re.compile(r"HTTP/\d(\.\d)?")

Header = tuple[bytes | str, bytes | str]


class ArchiveError(Exception):
    """A WARC file that cannot be written, read or resolved; the message is one line."""


def warc_key(dt_: str, run_id: str, n: int) -> str:
    """``stdaily/warc/dt=<dt>/run=<run id>/<n>.warc.gz``, n zero-padded to five digits."""
    check_run(dt_, run_id)
    return f"{run_folder(DATASET, dt_, run_id)}{n:05d}.warc.gz"


def check_run(dt_: str, run_id: str) -> None:
    """``ValueError`` unless ``dt`` and ``run_id`` can name a folder in the lake (schema ``warc_key``)."""
    if not _DT.fullmatch(dt_):
        raise ValueError(f"archive dt {dt_!r} is not YYYY-MM-DD")
    if not _RUN_ID.fullmatch(run_id) or run_id in (".", ".."):
        raise ValueError(f"archive run id {run_id!r} may hold only letters, digits, '.', '_' and '-'")


def is_warc_key(key: str) -> bool:
    return bool(_KEY.fullmatch(key))


def sha1_digest(data: bytes) -> str:
    """A WARC digest: ``sha1:`` and the base32 SHA-1 of the bytes."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def warc_date(when: dt.datetime) -> str:
    """WARC-Date in UTC with microseconds (WARC 1.1 allows a fraction): ``2026-11-27T02:46:29.123456Z``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _headers(headers: Sequence[Header], what: str) -> tuple[tuple[bytes, bytes], ...]:
    out = []
    for name, value in headers:
        name_b, value_b = _as_bytes(name), _as_bytes(value)
        if not _TOKEN_BYTES.fullmatch(name_b):
            raise ValueError(f"{what} header name {name_b!r} is not an HTTP token")
        if b"\r" in value_b or b"\n" in value_b:
            raise ValueError(f"{what} header {name_b.decode('latin-1')} holds a line break")
        out.append((name_b, value_b))
    return tuple(out)


@functools.lru_cache(maxsize=64)  # a crawl talks to a handful of addresses
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the response it received, as the downloader saw them.

    ``body`` is the response body as received, before any decoding: a GBK page
    stays GBK bytes, a ``Content-Encoding: gzip`` body stays gzip (hand it over
    from below Scrapy's HttpCompressionMiddleware). Transfer-Encoding framing is
    already gone when Scrapy gives the body, so a ``Transfer-Encoding`` header is
    not archived (an archived one would claim chunks that are not there).
    ``request_headers`` are the headers as sent; a ``Host`` header is added from
    the URL when absent, as the HTTP client sends one.
    """

    url: str
    status: int
    response_headers: Sequence[Header]
    body: bytes
    method: str = "GET"
    request_headers: Sequence[Header] = ()
    request_body: bytes = b""
    reason: str | None = None  # None: the standard phrase of the status
    protocol: str = "HTTP/1.1"
    date: dt.datetime | None = None  # when the response came, timezone-aware; None: now
    ip_address: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not _URL.fullmatch(self.url):
            raise ValueError(f"archive URL {self.url!r} is not an absolute http(s) URL")
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError(f"archive status {self.status!r} of {self.url} is not an HTTP status")
        if not _TOKEN.fullmatch(self.method):
            raise ValueError(f"archive method {self.method!r} of {self.url} is not an HTTP method")
        if not _PROTOCOL.fullmatch(self.protocol):
            raise ValueError(f"archive protocol {self.protocol!r} of {self.url} is not HTTP/x.y")
        if self.reason is not None and ("\r" in self.reason or "\n" in self.reason):
            raise ValueError(f"archive reason phrase of {self.url} holds a line break")
        if self.date is not None and self.date.utcoffset() is None:
            raise ValueError(f"archive date of {self.url} has no timezone")
        if self.ip_address is not None and not _is_ip(self.ip_address):
            raise ValueError(f"archive IP address {self.ip_address!r} of {self.url} is not an IP address")
        if not isinstance(self.body, bytes) or not isinstance(self.request_body, bytes):
            raise ValueError(f"archive bodies of {self.url} must be bytes")
        # Normalised once here so that the writer only serialises.
        object.__setattr__(self, "response_headers", _headers(self.response_headers, "response"))
        object.__setattr__(self, "request_headers", _headers(self.request_headers, "request"))


@dataclass(frozen=True, slots=True)
class Copy:
    """Where a payload is archived in full: one ``response`` record.

    The state store keeps one per URL between runs (``to_dict``/``from_dict``);
    :meth:`provenance` is the record's ``provenance`` entry for it.
    """

    url: str  # its WARC-Target-URI
    payload_digest: str
    key: str  # the WARC file's key below the lake root
    offset: int  # of the response record in that file
    record_id: str
    date: str  # its WARC-Date

    def provenance(self) -> Provenance:
        return Provenance(url=self.url, warc=self.key, offset=self.offset, record_id=self.record_id,
                          payload_digest=self.payload_digest)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "payload_digest": self.payload_digest, "key": self.key, "offset": self.offset,
                "record_id": self.record_id, "date": self.date}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Copy:
        """The inverse of :meth:`to_dict`; ``ValueError`` (one line) for anything malformed."""
        try:
            copy = cls(str(data["url"]), str(data["payload_digest"]), str(data["key"]), data["offset"],
                       str(data["record_id"]), str(data["date"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"archived copy {dict(data)!r} lacks {exc}") from None
        if not _DIGEST.fullmatch(copy.payload_digest):
            raise ValueError(f"archived copy of {copy.url}: payload digest {copy.payload_digest!r} is not sha1:<base32>")
        if not is_warc_key(copy.key):
            raise ValueError(f"archived copy of {copy.url}: {copy.key!r} is not a WARC key")
        if not isinstance(copy.offset, int) or isinstance(copy.offset, bool) or copy.offset < 0:
            raise ValueError(f"archived copy of {copy.url}: offset {copy.offset!r} is not a byte offset")
        if not _RECORD_ID.fullmatch(copy.record_id):
            raise ValueError(f"archived copy of {copy.url}: {copy.record_id!r} is not a WARC-Record-ID")
        return copy


@dataclass(frozen=True, slots=True)
class Stored:
    """Where one exchange went.

    ``key``, ``offset`` and ``record_id`` name the record written for the
    response: a ``response`` record, or a ``revisit`` record when the payload
    was already archived (then ``revisit_of`` is that original). ``copy`` is
    where the payload itself is, either way: remember it as the URL's last copy,
    and point the record's provenance at it (:meth:`provenance`), so that one
    read at one offset gives the page's bytes.
    """

    url: str
    key: str
    offset: int
    record_id: str
    payload_digest: str
    date: str
    request_record_id: str
    revisit_of: Copy | None = None

    @property
    def revisit(self) -> bool:
        return self.revisit_of is not None

    @property
    def copy(self) -> Copy:
        if self.revisit_of is not None:
            return self.revisit_of
        return Copy(self.url, self.payload_digest, self.key, self.offset, self.record_id, self.date)

    def provenance(self) -> Provenance:
        return self.copy.provenance()


@dataclass(frozen=True, slots=True)
class ArchivedFile:
    """A closed WARC file of the run: for the manifest and the upload."""

    key: str
    path: str  # local path
    size: int  # bytes
    sha256: str  # hex
    records: int
    responses: int  # response records
    revisits: int  # revisit records

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "path": self.path, "bytes": self.size, "sha256": self.sha256,
                "records": self.records, "responses": self.responses, "revisits": self.revisits}
