"""Reading archived responses back: in order, resolved, or at one offset.

- :func:`iter_responses` yields every response of some WARC files (paths or
  byte streams), a ``revisit`` record standing in for its original: the
  revisit's own status, headers, date and record id, the original's body.
  Originals are looked up by ``WARC-Refers-To`` in the files read so far, in
  ``originals``, and through ``open_key`` (a key below the lake root -> a path
  or bytes) for the key a revisit names in ``WARC-Refers-To-Container``.
- :func:`read_response` reads the one response at a byte offset (each record is
  its own gzip member); :func:`read_provenance` does it for a record's
  ``provenance`` entry and checks that the bytes are the ones it names.

Bodies come as archived: as received, before any decoding
(:meth:`ArchivedResponse.decoded_body` undoes a Content-Encoding). Reading is
fastwarc's; payload digests are checked (SHA-1, cheap next to inflating), so a
damaged or cut-off record is never handed on as a page.

Failure modes: an unreadable file, a record that is not where an offset says,
an unresolvable revisit or a digest that does not match raises
:class:`~stdcrawl.archive.records.ArchiveError` (one line, naming the file and
offset), or, with ``on_problem``, is passed to it as that line and the record
skipped. A byte stream is read whole into memory: give paths for large files.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Union

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from stdcrawl.archive.records import REFERS_TO_CONTAINER, ArchiveError, sha1_digest
from stdcrawl.record import Provenance

Source = Union[str, os.PathLike[str], bytes, BinaryIO]
# A source with the name to report it by (a key below the lake root, say).
NamedSource = Union[Source, tuple[str, Source]]
OpenKey = Callable[[str], Source]

_RESPONSES = WarcRecordType.response | WarcRecordType.revisit


@dataclass(frozen=True, slots=True)
class ArchivedResponse:
    """One archived response; for a revisit, its own headers with its original's body."""

    url: str  # WARC-Target-URI
    status: int
    reason: str
    headers: tuple[tuple[bytes, bytes], ...]  # the HTTP headers as archived
    body: bytes  # as received: the page's own encoding, Content-Encoding not undone
    date: str  # WARC-Date
    record_id: str
    payload_digest: str
    file: str  # the source's name: its path, or the name it was given
    offset: int  # of the record in that file
    revisit_of: str | None = None  # the original's WARC-Record-ID when this is a revisit

    def header(self, name: str) -> str | None:
        """The first header of that name (any case), as text, or None."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                try:
                    return value.decode("utf-8")
                except UnicodeDecodeError:
                    return value.decode("latin-1")
        return None

    def decoded_body(self) -> bytes:
        """The body with its Content-Encoding (gzip, deflate, br, identity) undone."""
        encodings = [e.strip().lower() for e in (self.header("Content-Encoding") or "").split(",") if e.strip()]
        body = self.body
        try:
            for encoding in reversed(encodings):
                if encoding in ("gzip", "x-gzip"):
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    try:
                        body = zlib.decompress(body)
                    except zlib.error:  # some servers send raw deflate
                        body = zlib.decompress(body, -zlib.MAX_WBITS)
                elif encoding == "br":
                    body = _unbrotli(body)
                elif encoding != "identity":
                    raise ArchiveError(f"{self.file}@{self.offset}: unknown Content-Encoding {encoding!r} of {self.url}")
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise ArchiveError(f"{self.file}@{self.offset}: {self.url} does not decode as {encodings} ({exc})") from None
        return body


def _unbrotli(data: bytes) -> bytes:
    import brotli  # a dependency of fastwarc

    try:
        return bytes(brotli.decompress(data))
    except brotli.error as exc:
        raise ValueError(str(exc)) from None


class _Src:
    """A source opened by name: a path is opened afresh for each read, bytes are kept."""

    __slots__ = ("name", "path", "data")

    def __init__(self, name: str, path: Path | None, data: bytes | None) -> None:
        self.name, self.path, self.data = name, path, data

    @classmethod
    def of(cls, source: NamedSource) -> _Src:
        name: str | None = None
        if isinstance(source, tuple):
            name, source = source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            return cls(name or str(path), path, None)
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls(name or "<bytes>", None, bytes(source))
        if hasattr(source, "read"):
            return cls(name or str(getattr(source, "name", "<stream>")), None, source.read())
        raise TypeError(f"not a WARC source: {type(source).__name__}")

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise ArchiveError(f"cannot open WARC file {self.name} ({exc.strerror or exc})") from None


@dataclass(frozen=True, slots=True)
class _Read:
    """A response or revisit record as read, before a revisit is resolved."""

    response: ArchivedResponse
    refers_to: str | None  # a revisit's WARC-Refers-To
    container: str | None  # a revisit's WARC-Refers-To-Container


def _read(record: WarcRecord, file: str) -> _Read:
    """A fastwarc record read with its HTTP headers parsed (body not read yet)."""
    headers = record.headers
    http = record.http_headers
    if not record.is_http or http is None or http.status_code is None:
        raise ArchiveError(f"{file}@{record.stream_pos}: {headers.get('WARC-Type')} record is not an HTTP response")
    response = ArchivedResponse(
        url=headers.get("WARC-Target-URI") or "",
        status=http.status_code,
        reason=http.reason_phrase or "",
        headers=http.items_bytes(),
        body=record.reader.read(),
        date=headers.get("WARC-Date") or "",
        record_id=record.record_id or "",
        payload_digest=headers.get("WARC-Payload-Digest") or "",
        file=file,
        offset=record.stream_pos,
    )
    if record.record_type == WarcRecordType.revisit:
        return _Read(response, headers.get("WARC-Refers-To") or "", headers.get(REFERS_TO_CONTAINER))
    return _Read(response, None, None)


def _read_one(src: _Src, stream: BinaryIO, offset: int) -> _Read:
    """The response or revisit record at ``offset`` of an open stream, unresolved."""
    try:
        stream.seek(offset)
        for record in ArchiveIterator(stream, parse_http=True, buffer_size=1 << 14):
            if record.stream_pos != offset:
                break
            if not record.record_type & _RESPONSES:
                raise ArchiveError(f"{src.name}@{offset}: a {record.record_type} record here, not a response")
            return _read(record, src.name)
    except OSError as exc:
        raise ArchiveError(f"{src.name}@{offset}: no WARC record starts here ({exc})") from None
    raise ArchiveError(f"{src.name}@{offset}: no WARC record starts here")


class _Originals:
    """Where the originals of revisits are: record id -> (source, offset), filled as files are read."""

    def __init__(self, originals: Iterable[NamedSource], open_key: OpenKey | None) -> None:
        self._where: dict[str, tuple[_Src, int]] = {}
        self._originals = [_Src.of(s) for s in originals]
        self._open_key = open_key
        self._scanned: set[int] = set()  # id() of the sources indexed whole
        self._keys_seen: set[str] = set()
        self._streams: dict[int, BinaryIO] = {}

    def add(self, record_id: str, src: _Src, offset: int) -> None:
        self._where[record_id] = (src, offset)

    def _scan(self, src: _Src) -> None:
        """Index the response records of a whole file (headers only)."""
        self._scanned.add(id(src))
        with src.open() as stream:
            try:
                for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=False):
                    if record.record_id:
                        self._where.setdefault(record.record_id, (src, record.stream_pos))
            except OSError as exc:
                raise ArchiveError(f"{src.name}: unreadable WARC file ({exc})") from None

    def find(self, record_id: str, container: str | None, also: Iterable[_Src] = ()) -> tuple[_Src, int] | None:
        """Where the original is: seen already, in the file the revisit names, in the originals, or in ``also``."""
        if record_id in self._where:
            return self._where[record_id]
        if container and self._open_key and container not in self._keys_seen:
            self._keys_seen.add(container)
            self._scan(_Src.of((container, self._open_key(container))))
        for src in (*self._originals, *also):
            if record_id in self._where:
                break
            if id(src) not in self._scanned:
                self._scan(src)
        return self._where.get(record_id)

    def read(self, src: _Src, offset: int) -> ArchivedResponse:
        """The response at an offset: an original, so never a revisit."""
        stream = self._streams.get(id(src))
        if stream is None:
            stream = self._streams[id(src)] = src.open()
        read = _read_one(src, stream, offset)
        if read.refers_to is not None:
            raise ArchiveError(f"{src.name}@{offset}: a revisit, where an original was to be")
        return read.response

    def close(self) -> None:
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()


def _checked(response: ArchivedResponse) -> str | None:
    """The problem with a response's payload, if its digest does not match it."""
    actual = sha1_digest(response.body)
    if actual != response.payload_digest:
        return (f"{response.file}@{response.offset}: payload of {response.url} does not match its digest "
                f"({response.payload_digest or 'none'} archived, {actual} read)")
    return None


def _resolve(read: _Read, index: _Originals, also: Iterable[_Src]) -> ArchivedResponse:
    """The response, a revisit with its original's body; ArchiveError when that cannot be found or does not match."""
    revisit = read.response
    if read.refers_to is None:
        if problem := _checked(revisit):
            raise ArchiveError(problem)
        return revisit
    where = f"{revisit.file}@{revisit.offset}: revisit of {revisit.url}"
    if not read.refers_to:
        raise ArchiveError(f"{where} has no WARC-Refers-To")
    found = index.find(read.refers_to, read.container, also)
    if found is None:
        raise ArchiveError(f"{where}: original {read.refers_to} not found"
                           + (f" (it is in {read.container})" if read.container else ""))
    original = index.read(*found)
    if original.payload_digest != revisit.payload_digest:
        raise ArchiveError(f"{where}: original {read.refers_to} has payload digest {original.payload_digest}, "
                           f"not {revisit.payload_digest}")
    if problem := _checked(original):
        raise ArchiveError(problem)
    return replace(revisit, body=original.body, revisit_of=read.refers_to)


def iter_responses(
    sources: Iterable[NamedSource],
    *,
    originals: Iterable[NamedSource] = (),
    open_key: OpenKey | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> Iterator[ArchivedResponse]:
    """Every response (and resolved revisit) of the sources, in file order.

    ``sources`` is a list of them; a source is a path, bytes, a binary stream,
    or ``(name, source)``. Each
    problem (see the module docstring) raises ArchiveError, or is handed to
    ``on_problem`` and that record skipped; a file that cannot be read at all
    always raises.
    """
    if isinstance(sources, (str, os.PathLike, bytes)) or hasattr(sources, "read"):
        raise TypeError("iter_responses takes a list of sources")
    srcs = [_Src.of(s) for s in sources]
    index = _Originals(originals, open_key)
    try:
        for n, src in enumerate(srcs):
            # A revisit whose original is not found behind it: this file and the ones after it are looked through.
            ahead = srcs[n:]
            with src.open() as stream:
                try:
                    for record in ArchiveIterator(stream, record_types=_RESPONSES, parse_http=True):
                        try:
                            read = _read(record, src.name)
                            response = _resolve(read, index, ahead)
                            if read.refers_to is None:
                                index.add(response.record_id, src, response.offset)
                        except ArchiveError as exc:
                            if on_problem is None:
                                raise
                            on_problem(str(exc))
                            continue
                        yield response
                except OSError as exc:
                    raise ArchiveError(f"{src.name}: unreadable WARC file ({exc})") from None
    finally:
        index.close()


def read_response(
    source: NamedSource,
    offset: int,
    *,
    originals: Iterable[NamedSource] = (),
    open_key: OpenKey | None = None,
) -> ArchivedResponse:
    """The response at ``offset`` (a revisit resolved), its payload digest checked; ArchiveError otherwise."""
    src = _Src.of(source)
    index = _Originals(originals, open_key)
    try:
        with src.open() as stream:
            return _resolve(_read_one(src, stream, offset), index, [src])
    finally:
        index.close()


def read_provenance(provenance: Provenance, open_key: OpenKey) -> ArchivedResponse:
    """The page a record's provenance entry names: read at its offset, record id and digest checked."""
    key = provenance["warc"]
    response = read_response((key, open_key(key)), provenance["offset"], open_key=open_key)
    if response.record_id != provenance["record_id"]:
        raise ArchiveError(f"{key}@{provenance['offset']}: record {response.record_id}, "
                           f"not {provenance['record_id']} as the provenance says")
    if response.payload_digest != provenance["payload_digest"]:
        raise ArchiveError(f"{key}@{provenance['offset']}: payload digest {response.payload_digest}, "
                           f"not {provenance['payload_digest']} as the provenance says")
    return response
