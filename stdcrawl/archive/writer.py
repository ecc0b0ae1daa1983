"""Writing one run's WARC archive: request and response records, revisits, rolling, closing.

:class:`RunArchive` writes WARC/1.1 files into a local folder (the crawl points
it at the run's spool), at ``<root>/<key>`` with keys
``stdaily/warc/dt=<dt>/run=<run id>/<n>.warc.gz``, n from 00000. Each record is
its own gzip member, so a byte offset is a place to start reading; each file
begins with a ``warcinfo`` record. Records are built by
:mod:`stdcrawl.archive.encoding` (fastwarc), here or beforehand in a worker
process (``write(..., encoded=)``); this module decides which file each goes
into and whether a payload is a revisit, and builds again what no longer fits.

Settings (plain values, from the caller): ``roll_size`` (bytes: a file is closed
and the next begun before an exchange would be added to a file that has
reached it), ``info`` (extra warcinfo fields), ``compression_level``.

Failure modes: a file that cannot be created, written, synced or renamed (disk
full, no permission) raises :class:`~stdcrawl.archive.records.ArchiveError`
with a one-line message. A failed exchange is cut off again, so the file keeps
only whole records and the archive goes on; if even that fails, or a finished
file cannot be renamed, the archive refuses further writes. Files are written
under a hidden temporary name and renamed only when closed (synced once per
file, never per record): a crash leaves temporaries, never a partial final
file; :func:`recover` finishes what a dead run left, :func:`remove_temporaries`
clears it.

Not thread-safe: one writer per run, called from the reactor thread.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import io
import logging
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastwarc.warc import HeaderMap, WarcRecordType

import stdcrawl
from stdcrawl.archive.check import parse_member
from stdcrawl.archive.encoding import COMPRESSION_LEVEL, Encoded, Members, date_of, encode, record_id
from stdcrawl.archive.members import Damage, members
from stdcrawl.archive.records import (
    ArchivedFile,
    ArchiveError,
    Copy,
    Exchange,
    Stored,
    check_run,
    sha1_digest,
    warc_date,
    warc_key,
)

logger = logging.getLogger(__name__)

_FINAL = re.compile(r"(\d+)\.warc\.gz")
_TEMP = re.compile(r"\.(\d+\.warc\.gz)\.[0-9a-f]{8}\.part")
_EMPTY = sha1_digest(b"")


@dataclass(slots=True)
class _Open:
    """The file being written."""

    key: str
    final: Path
    temp: Path
    out: io.FileIO
    warcinfo_id: str
    size: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)
    records: int = 0
    responses: int = 0
    revisits: int = 0


class RunArchive:
    """One run's WARC archive in a local folder; see the module docstring.

    ``write`` archives one exchange and says where it went; ``close`` finishes
    the last file and lists every file of the run. A URL's payload that was
    already archived (earlier in the file being written, or the ``last`` copy
    the caller remembers from an earlier file or run) is written as a
    ``revisit`` record instead of a second copy. A ``Stored`` location is final once its file is listed by
    :attr:`files` (it has rolled) or by :meth:`close`.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        dt: str,
        run_id: str,
        roll_size: int,
        info: Mapping[str, str] | None = None,
        compression_level: int = COMPRESSION_LEVEL,
    ) -> None:
        check_run(dt, run_id)
        if not isinstance(roll_size, int) or roll_size <= 0:
            raise ValueError(f"archive roll size {roll_size!r} is not a positive number of bytes")
        self.root = Path(root)
        self.dt, self.run_id, self.roll_size = dt, run_id, roll_size
        self.info = dict(info or {})
        for name, value in self.info.items():
            if not re.fullmatch(r"[A-Za-z0-9-]+", name) or "\r" in value or "\n" in value:
                raise ValueError(f"archive warcinfo field {name!r} is not a field name with a one-line value")
        self.files: list[ArchivedFile] = []
        self._folder = self.root / warc_key(dt, run_id, 0).rsplit("/", 1)[0]
        # A run started again with the same id (a resumed job) keeps its earlier files and any
        # temporaries a dead process left (recover() may still finish them): number on past both.
        self._next = 1 + max((int(m[1].split(".")[0]) for p in self._existing()
                              if (m := _FINAL.fullmatch(p.name) or _TEMP.fullmatch(p.name))), default=-1)
        self._file: _Open | None = None
        # (URL, payload digest) -> copy, one entry a page of the file being written. Only that file's: a long run
        # would otherwise keep every page's copy to its end; the caller remembers the others (``last``).
        self._copies: dict[tuple[str, str], Copy] = {}
        self._broken: str | None = None
        self._closed = False
        self._members = Members(compression_level)  # ValueError for a level outside 1-9
        self._upcoming = record_id()  # the warcinfo ID of the next file begun

    def _existing(self) -> Iterator[Path]:
        return self._folder.iterdir() if self._folder.is_dir() else iter(())

    # -- writing --------------------------------------------------------------------------

    def copy_of(self, stored: Stored) -> Copy:
        """``stored.copy``, as the very object this writer keeps for the URL when it keeps one (one per page, not two)."""
        kept = self._copies.get((stored.url, stored.payload_digest))
        return kept if kept is not None else stored.copy

    @property
    def warcinfo_id(self) -> str:
        """The warcinfo ID of the file the next exchange goes into, if nothing else is written before it.

        For :func:`~stdcrawl.archive.encoding.encode` elsewhere (a worker process): an exchange encoded for
        it is written as it is while that still holds, and built again here if another write rolled the file.
        """
        file = self._file
        return file.warcinfo_id if file is not None and file.size < self.roll_size else self._upcoming

    @property
    def compression_level(self) -> int:
        return self._members.level

    def write(self, exchange: Exchange, last: Copy | None = None, encoded: Encoded | None = None) -> Stored:
        """Archive one exchange: a ``request`` record, then a ``response`` (or ``revisit``) record.

        ``last`` is the last archived copy of this URL in an earlier file of
        this run or in an earlier run, if the caller knows one. ``encoded`` is
        this very exchange as :func:`~stdcrawl.archive.encoding.encode` built it
        for :attr:`warcinfo_id`: its records are written as they are when they
        still fit (the same file, the same compression level, not a revisit).
        Raises :class:`ArchiveError` when it cannot be written; nothing of the
        exchange is then in the archive.
        """
        if self._closed:
            raise ArchiveError(f"archive of run {self.run_id} is closed: {exchange.url} not archived")
        if self._broken:
            raise ArchiveError(f"{self._broken}: {exchange.url} not archived")
        sha1 = encoded.sha1 if encoded is not None else hashlib.sha1(exchange.body).digest()
        digest = "sha1:" + base64.b32encode(sha1).decode("ascii")
        if self._file is not None and self._file.size >= self.roll_size:
            self._finish(self._file)
        original = self._original(exchange.url, digest, last)
        file = self._file or self._begin()
        if original is not None:
            when = date_of(exchange)
            request_id, response_id = record_id(), record_id()
            request = self._members.request(exchange, file.warcinfo_id, request_id, response_id, when)
            response = self._members.response(exchange, file.warcinfo_id, response_id, request_id, when, sha1, original)
        else:
            if encoded is None or encoded.warcinfo_id != file.warcinfo_id or encoded.level != self._members.level:
                encoded = encode(exchange, file.warcinfo_id, members=self._members, sha1=sha1)
            when, request_id, response_id = encoded.when, encoded.request_id, encoded.response_id
            request, response = encoded.request, encoded.response

        offset = file.size + len(request)
        self._append(file, request + response, exchange.url)
        file.records += 2
        stored = Stored(exchange.url, file.key, offset, response_id, digest, when, request_id, original)
        if original is None:
            file.responses += 1
            if exchange.body:
                self._copies[exchange.url, digest] = stored.copy
        else:
            file.revisits += 1
        return stored

    def _original(self, url: str, digest: str, last: Copy | None) -> Copy | None:
        """The archived copy of this payload to refer to, if any. An empty body is never a revisit: it costs nothing."""
        known = self._copies.get((url, digest))
        if known is not None:
            return known
        if last is not None and last.payload_digest == digest and digest != _EMPTY:
            return last
        return None

    def _append(self, file: _Open, data: bytes, what: str) -> None:
        """Append whole members; on failure cut the file back to where it was, so it holds only whole records."""
        try:
            view = memoryview(data)
            while view:
                written = file.out.write(view)
                if not written:  # a regular file in blocking mode never does this; do not spin if it does
                    raise OSError(f"write() stored nothing of {len(view)} bytes")
                view = view[written:]
        except OSError as exc:
            try:
                file.out.truncate(file.size)
                file.out.seek(file.size)
            except OSError as again:
                self._broken = f"WARC file {file.temp} is damaged ({_why(again)})"
            raise ArchiveError(f"cannot write WARC file {file.temp} ({_why(exc)}): {what} not archived") from None
        file.sha256.update(data)
        file.size += len(data)

    # -- files ----------------------------------------------------------------------------

    def _begin(self) -> _Open:
        key = warc_key(self.dt, self.run_id, self._next)
        final = self.root / key
        temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
        warcinfo_id, self._upcoming = self._upcoming, record_id()
        # warc-fields are named fields, one a line: fastwarc's header map writes them.
        fields = HeaderMap()
        for name, value in {
            "software": f"stdcrawl/{stdcrawl.__version__} fastwarc/{_version('fastwarc')}",
            "format": "WARC File Format 1.1",
            "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "isPartOf": f"stdcrawl run {self.run_id}",
            **self.info,
        }.items():
            fields.append(name, value)
        block = io.BytesIO()
        fields.write(block)
        info = self._members.record(WarcRecordType.warcinfo, warcinfo_id, None, warc_date(dt.datetime.now(dt.UTC)),
                                    "application/warc-fields", block.getvalue(), [("WARC-Filename", final.name)])
        try:
            temp.parent.mkdir(parents=True, exist_ok=True)
            out = io.FileIO(temp, "xb")  # unbuffered: each exchange is one write(), on disk if the process dies
        except OSError as exc:
            raise ArchiveError(f"cannot create WARC file {temp} ({_why(exc)})") from None
        file = _Open(key, final, temp, out, warcinfo_id)
        try:
            self._append(file, info, "warcinfo")
        except ArchiveError:
            out.close()
            temp.unlink(missing_ok=True)
            self._broken = None  # the damaged file is gone with it
            raise
        file.records = 1
        self._next += 1
        self._file = file
        return file

    def _finish(self, file: _Open) -> None:
        """Sync, close and rename into place; refuse to overwrite a file of the same name."""
        self._file = None
        self._copies.clear()
        try:
            os.fsync(file.out.fileno())
            file.out.close()
            if file.final.exists():
                raise FileExistsError(f"{file.final.name} already exists")
            os.replace(file.temp, file.final)
            _sync_dir(file.final.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                file.out.close()
            self._broken = f"cannot finish WARC file {file.final} ({_why(exc)}); left as {file.temp.name}"
            raise ArchiveError(self._broken) from None
        done = ArchivedFile(file.key, str(file.final), file.size, file.sha256.hexdigest(), file.records,
                            file.responses, file.revisits)
        self.files.append(done)
        logger.debug("WARC file %s closed: %d bytes, %d records", file.key, file.size, file.records)

    def roll(self) -> list[ArchivedFile]:
        """Finish the file being written now, if it holds an exchange; the next exchange begins a new file.

        For a caller that must have every ``Stored`` location handed out so far
        in a closed file (before it commits what points at them). Returns every
        file closed so far; raises :class:`ArchiveError` as :meth:`close` does.
        """
        if self._broken:
            raise ArchiveError(self._broken)
        if self._file is not None and self._file.records > 1:  # more than its warcinfo
            self._finish(self._file)
        return list(self.files)

    def close(self) -> list[ArchivedFile]:
        """Finish the file being written and list every file of the run (in order). Idempotent."""
        if not self._closed:
            if self._broken:
                raise ArchiveError(self._broken)
            if self._file is not None:
                self._finish(self._file)
            self._closed = True
        return list(self.files)

    def __enter__(self) -> RunArchive:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            self.close()
        except ArchiveError as exc:
            if kind is None:
                raise
            # Another error is on its way out: that one is the story, this one is logged.
            logger.error("%s", exc)


# -- what a dead run left -------------------------------------------------------------------


def temporaries(folder: Path | str) -> list[Path]:
    """The archive's temporary files below ``folder`` (a run's spool or its WARC folder)."""
    base = Path(folder)
    return sorted(p for p in base.rglob(".*.part") if _TEMP.fullmatch(p.name)) if base.is_dir() else []


def remove_temporaries(folder: Path | str) -> list[Path]:
    """Delete the temporaries a crashed run left below ``folder``; returns what was removed."""
    found = temporaries(folder)
    for path in found:
        path.unlink(missing_ok=True)
    return found


def recover(root: Path | str, folder: Path | str | None = None) -> list[ArchivedFile]:
    """Finish the files a dead run left below ``folder`` (default: all of ``root``), keeping every whole record.

    Each temporary is cut after its last whole gzip member (the offsets already
    handed out stay valid), synced and renamed to its final name; one without a
    whole record besides its ``warcinfo`` is removed. ``root`` is the folder the
    keys are relative to (the run's spool). A temporary whose final name exists
    is left alone. Raises :class:`ArchiveError` when a file cannot be rewritten.
    """
    done: list[ArchivedFile] = []
    root = Path(root)
    for temp in temporaries(root if folder is None else folder):
        match = _TEMP.fullmatch(temp.name)
        assert match is not None
        final = temp.with_name(match[1])
        if final.exists():
            logger.warning("WARC temporary %s left alone: %s exists", temp, final.name)
            continue
        size = records = responses = revisits = 0
        sha = hashlib.sha256()
        with temp.open("rb") as stream:
            for member in members(stream):
                if isinstance(member, Damage):
                    break
                record, problems = parse_member(member)
                if record is None or problems:
                    break
                records += 1
                responses += record.kind == "response"
                revisits += record.kind == "revisit"
                size += member.size
        try:
            if records <= 1:
                temp.unlink()
                continue
            with temp.open("r+b") as out:
                out.truncate(size)
                out.flush()
                os.fsync(out.fileno())
                out.seek(0)
                while chunk := out.read(1 << 20):
                    sha.update(chunk)
            os.replace(temp, final)
            _sync_dir(final.parent)
        except OSError as exc:
            raise ArchiveError(f"cannot recover WARC file {temp} ({_why(exc)})") from None
        key = final.relative_to(root).as_posix()
        done.append(ArchivedFile(key, str(final), size, sha.hexdigest(), records, responses, revisits))
        logger.info("WARC file %s recovered from a dead run: %d records", key, records)
    return done


# -- helpers --------------------------------------------------------------------------------


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)
