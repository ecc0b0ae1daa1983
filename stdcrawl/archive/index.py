"""What a set of WARC files holds, by URL: the archive as ``stdcrawl reextract`` reads it, and file summaries.

Pure of Scrapy. Two things, both read from the files' headers (one pass,
bodies not copied):

- :func:`describe`: a closed file's :class:`~stdcrawl.archive.records.ArchivedFile`
  (size, SHA-256, record counts) and the :class:`~stdcrawl.archive.records.Copy`
  of each payload it holds in full, for a file the writer's own figures were
  lost for (a dead run's file, a file stored by a later run).
- :class:`ArchiveIndex`: the latest archived response of every page of the
  files given, found by its URL's path (:func:`page_key`: an archive holds one
  site, fetched at ``www.stdaily.com``, ``stdaily.com`` or a stand-in such as a
  replica, so the host does not tell pages apart). "Latest" is by WARC-Date,
  then file order, passing over a 5xx or 429 when the page has an older answer
  of another kind (a crawl retries those; a 404 is an answer: the page was
  removed). A revisit answers with its own status and headers and its
  original's body; the :class:`Copy` it gives is the original's, the record
  that holds the bytes (what a record's provenance names). Originals are found
  among the files given, else in the file a revisit names
  (``WARC-Refers-To-Container``, a key) through ``open_key``.

Files are named by their keys below a lake root
(``stdaily/warc/dt=YYYY-MM-DD/run=<run id>/<n>.warc.gz``): :func:`lake_key`
finds the key at the end of a path. Failure modes: a file that cannot be read
raises :class:`~stdcrawl.archive.records.ArchiveError` (one line); a record
that cannot be used (no HTTP status, a revisit whose original is nowhere) is
passed to ``on_problem`` as one line and the page's older copy, if any, is used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType

from stdcrawl.archive.reader import read_response
from stdcrawl.archive.records import REFERS_TO_CONTAINER, ArchivedFile, ArchiveError, Copy, is_warc_key

# Answers that say nothing about the page (the server was busy or broken): an older answer is the page's latest copy.
TRANSIENT = frozenset({429, *range(500, 600)})
_KEY_TAIL = re.compile(r"stdaily/warc/dt=\d{4}-\d{2}-\d{2}/run=[A-Za-z0-9._-]+/[0-9]+\.warc\.gz$")
_RESPONSES = WarcRecordType.response | WarcRecordType.revisit

OpenKey = Callable[[str], Path | None]  # a key below the lake root -> a local file, or None when not there


def lake_key(path: Path | str) -> str | None:
    """The key below a lake root that ``path`` ends with (``.../stdaily/warc/dt=.../run=.../00000.warc.gz``), or None."""
    found = _KEY_TAIL.search(Path(path).as_posix())
    return found[0] if found and is_warc_key(found[0]) else None


def page_key(url: str) -> str:
    """A page's path (and query): the same page whichever host it was fetched from."""
    parts = urlsplit(url)
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def site_base(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _copy(record: object, key: str) -> Copy:
    headers = record.headers  # type: ignore[attr-defined]
    return Copy(headers.get("WARC-Target-URI") or "", headers.get("WARC-Payload-Digest") or "", key,
                record.stream_pos, record.record_id or "", headers.get("WARC-Date") or "")  # type: ignore[attr-defined]


def describe(path: Path | str, key: str) -> tuple[ArchivedFile, list[Copy]]:
    """A closed file's figures for the manifest, and where each payload it holds in full is."""
    path = Path(path)
    sha = hashlib.sha256()
    records = responses = revisits = 0
    copies: list[Copy] = []
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                sha.update(chunk)
            size = stream.tell()
            stream.seek(0)
            for record in ArchiveIterator(stream, parse_http=False):
                records += 1
                if record.record_type == WarcRecordType.response:
                    responses += 1
                    copies.append(_copy(record, key))
                elif record.record_type == WarcRecordType.revisit:
                    revisits += 1
    except OSError as exc:
        raise ArchiveError(f"cannot read WARC file {path} ({exc.strerror or exc})") from None
    return ArchivedFile(key, str(path), size, sha.hexdigest(), records, responses, revisits), copies


@dataclass(frozen=True, slots=True)
class Entry:
    """One page's latest archived response, ready to be served again."""

    url: str  # the WARC-Target-URI of the record that answers (a revisit's own)
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    date: str
    copy: Copy  # the response record that holds the payload: the provenance of what is read from it
    revisit: bool


@dataclass(slots=True)
class _Candidate:
    date: str
    order: int
    url: str
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    copy: Copy | None  # a response record's own copy; None for a revisit until resolved
    refers_to: str | None
    container: str | None
    payload_digest: str
    where: str


class ArchiveIndex:
    """The latest archived response of every page in ``sources`` (``(key, path)`` pairs); see the module docstring."""

    def __init__(self, sources: Sequence[tuple[str, Path]], *, open_key: OpenKey | None = None,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.paths: dict[str, Path] = {}  # key -> local file, for every file read (originals' files included)
        self.bases: set[str] = set()  # scheme://host of every page URL
        self.records = 0
        self._open_key = open_key
        self._problem = on_problem or _raise
        self._originals: dict[str, Copy] = {}  # record id -> copy, every response record seen
        self._scanned: set[str] = set()
        self._candidates: dict[str, list[_Candidate]] = {}
        order = 0
        for key, path in sources:
            order = self._scan(key, path, order)
        self._entries = {page: entry for page, found in self._candidates.items() if (entry := self._resolve(found))}
        self._candidates.clear()

    @property
    def pages(self) -> int:
        return len(self._entries)

    def get(self, url: str) -> Entry | None:
        return self._entries.get(page_key(url))

    def entries(self) -> Iterable[Entry]:
        return self._entries.values()

    def body(self, entry: Entry) -> bytes:
        """The payload as archived (as received, Content-Encoding not undone), its digest checked."""
        copy = entry.copy
        return read_response((copy.key, self.paths[copy.key]), copy.offset).body

    # -- building ---------------------------------------------------------------------------

    def _scan(self, key: str, path: Path, order: int, *, originals_only: bool = False) -> int:
        self.paths[key] = path
        self._scanned.add(key)
        try:
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream, record_types=_RESPONSES, parse_http=not originals_only):
                    order += 1
                    if record.record_type == WarcRecordType.response and record.record_id:
                        self._originals.setdefault(record.record_id, _copy(record, key))
                    if originals_only:
                        continue
                    self.records += 1
                    self._add(record, key, order)
        except OSError as exc:
            raise ArchiveError(f"{key}: unreadable WARC file ({exc.strerror or exc})") from None
        return order

    def _add(self, record: object, key: str, order: int) -> None:
        headers = record.headers  # type: ignore[attr-defined]
        where = f"{key}@{record.stream_pos}"  # type: ignore[attr-defined]
        url = headers.get("WARC-Target-URI") or ""
        http = record.http_headers  # type: ignore[attr-defined]
        if not url or http is None or http.status_code is None:
            self._problem(f"{where}: {headers.get('WARC-Type')} record without a target URI or an HTTP status: not used")
            return
        revisit = record.record_type == WarcRecordType.revisit  # type: ignore[attr-defined]
        self.bases.add(site_base(url))
        self._candidates.setdefault(page_key(url), []).append(_Candidate(
            headers.get("WARC-Date") or "", order, url, http.status_code, tuple(http.items_bytes()),
            None if revisit else _copy(record, key), headers.get("WARC-Refers-To") if revisit else None,
            headers.get(REFERS_TO_CONTAINER) if revisit else None, headers.get("WARC-Payload-Digest") or "", where,
        ))

    def _resolve(self, found: list[_Candidate]) -> Entry | None:
        """The newest candidate whose payload can be found; a transient answer only when the page never gave another."""
        newest = sorted(found, key=lambda c: (c.date, c.order), reverse=True)
        for c in [c for c in newest if c.status not in TRANSIENT] + [c for c in newest if c.status in TRANSIENT]:
            copy = c.copy if c.copy is not None else self._original(c)
            if copy is not None:
                return Entry(c.url, c.status, c.headers, c.date, copy, c.copy is None)
        return None

    def _original(self, c: _Candidate) -> Copy | None:
        if c.refers_to and c.refers_to not in self._originals and c.container and c.container not in self._scanned:
            where = self._open_key(c.container) if self._open_key else None
            if where is not None:
                self._scan(c.container, where, 0, originals_only=True)
        original = self._originals.get(c.refers_to or "")
        if original is None:
            self._problem(f"{c.where}: revisit of {c.url}: its original {c.refers_to} is not in the archive read"
                          + (f" (it is in {c.container})" if c.container else ""))
            return None
        if original.payload_digest != c.payload_digest:
            self._problem(f"{c.where}: revisit of {c.url}: its original {c.refers_to} has payload digest "
                          f"{original.payload_digest}, not {c.payload_digest}")
            return None
        return original


def _raise(problem: str) -> None:
    raise ArchiveError(problem)
