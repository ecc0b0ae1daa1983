"""The run's WARC files: written in the spool, stored in the lake, committed to the state, finished by the next run.

Every response to a page the walk read is archived by
:class:`~stdcrawl.downloadermiddlewares.archive.ArchiveMiddleware` through
:meth:`WarcArchive.write` into the run's :class:`~stdcrawl.archive.RunArchive`,
rooted at the run's spool folder, so that each file's key is its key in the lake:

    <data dir>/spool/run=<run id>/stdaily/warc/dt=<dt>/run=<run id>/00000.warc.gz  ->  <lake>/stdaily/warc/...

**Storing.** A file is stored in the lake (local or S3, :mod:`stdcrawl.lake.stores`)
when it rolls (``STDCRAWL_WARC_ROLL_SIZE``), in a thread of its own so the crawl
does not wait, and when the run ends; once stored, the ledger commits it with
the last copy of each URL it holds (:meth:`stdcrawl.state.ledger.Ledger.commit_warc`)
and it leaves the spool. The next run reads those copies: a re-checked page
whose payload did not change is written as a ``revisit`` record.

**Order.** A record's provenance must name a stored file. So before the export
ledger commits a lake part, and before the run's folders are finished, the file
being written is closed and every file of the run is stored (:func:`waiting`,
which blocks until the uploads under way are done). A file that cannot be
stored stays in the spool with a sidecar (``.warc.json``); the parts committed
after it are kept in the spool too, and the run is not finished in the lake.
The next run, before it crawls, finishes the dead run's temporaries
(:func:`stdcrawl.archive.recover`), stores and commits every file waiting in its
spool, removes from its WARC folder what no commit names (:func:`recover_run`,
called by :class:`~stdcrawl.extensions.lakeruns.LakeRuns`), and only then its parts.

**Reextract.** In a ``stdcrawl reextract`` run nothing is written: records'
provenance names the files the pages were read from. Those not yet in the lake
(``--warc`` files from elsewhere) are stored in it under their keys before any
part naming them is committed, and listed in the run's manifest.

Settings: ``STDCRAWL_ARCHIVE`` (true: off for ad-hoc runs or users who keep no
archive), ``STDCRAWL_WARC_ROLL_SIZE`` (64 MiB). Off in ad-hoc runs (``-o``/``-O``:
no lake). Failure modes, each one log line and a counter, never a crash: an
exchange that cannot be written (``stdcrawl/archive/write_failed``; the record
read from it has ``provenance: []``), a file not stored
(``stdcrawl/archive/files_spooled``), a commit that fails
(``stdcrawl/state/commit_failed``: the file stays in the spool).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from stdcrawl import events
from stdcrawl.archive import ArchivedFile, ArchiveError, Copy, Exchange, RunArchive, Stored, recover
from stdcrawl.archive.encoding import Encoded
from stdcrawl.archive.index import describe
from stdcrawl.lake import run_folder
from stdcrawl.lake.stores import Store, open_store
from stdcrawl.paths import paths
from stdcrawl.state.ledger import CommitFailed, ExportLedger, Ledger
from stdcrawl.state.spool import Spool
from stdcrawl.state.store import CopyRow, WarcFile

logger = logging.getLogger(__name__)

DATASET = "warc"


def warc_file(file: ArchivedFile) -> WarcFile:
    return WarcFile(file.key, file.size, file.sha256, file.records, file.responses, file.revisits)


def copy_rows(copies: Iterable[Copy]) -> list[CopyRow]:
    return [(c.url, c.payload_digest, c.key, c.offset, c.record_id, c.date) for c in copies]


def manifest_entries(files: Iterable[WarcFile]) -> list[dict[str, Any]]:
    """The ``warc`` list of a run's articles manifest."""
    return [{"key": f.key, "bytes": f.bytes, "sha256": f.sha256, "records": f.records, "responses": f.responses,
             "revisits": f.revisits} for f in files]


def waiting(crawler: Crawler) -> list[str]:
    """Store every WARC file of the run (waiting for uploads under way); the keys of those not stored.

    Empty when the run keeps no archive. Called before a part is committed and
    before the run's folders are finished: see the module docstring.
    """
    archive = crawler.get_extension(WarcArchive)
    return archive.flush() if archive is not None else []


def recover_run(store: Store, spool: Spool, ledger: Ledger, run_id: str, dt: str, stats: Any) -> int:
    """Store and commit the WARC files an earlier run left in its spool; remove what no commit names from its WARC folder.

    Raises what the lake raises (the caller stops the run with ``lake_unavailable``),
    :class:`ArchiveError` for a spooled file that cannot be read, ``CommitFailed``.
    Returns how many files were stored.
    """
    root = spool.folder(run_id)
    for file in recover(root):
        logger.info("WARC file %s of run %s finished from its temporary", file.key, run_id)
    stored = 0
    for path, sidecar in spool.warc_waiting(run_id):
        key = path.relative_to(root).as_posix()
        file, copies = describe(path, key)
        if sidecar and sidecar.get("sha256") not in (None, file.sha256):
            raise ArchiveError(f"spooled WARC file {path} does not match its sidecar's SHA-256: left in the spool")
        store.put_file(key, path)
        ledger.commit_warc(warc_file(file), copy_rows(copies), run_id=run_id)
        spool.release_warc(path)
        stored += 1
        stats.inc_value(events.ARCHIVE_FILES_RECOVERED)
        logger.warning("Stored WARC file %s, left in the spool by run %s", key, run_id)
    folder = run_folder(DATASET, dt, run_id)
    for key in list(store.keys(folder)):
        if not ledger.store.warc_stored(key):
            logger.warning("Removing %s from the lake: no stored WARC file of run %s is there", key, run_id)
            store.delete(key)
            stats.inc_value(events.ARCHIVE_DEBRIS_REMOVED)
    return stored


class WarcArchive:
    """The run's archive and its way to the lake; see the module docstring. ``capture``: this run writes one."""

    def __init__(self, crawler: Crawler, *, store: Store, spool: Spool, run_id: str, dt: str, roll_size: int,
                 info: dict[str, str], capture: bool) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.lake_store = store
        self.spool = spool
        self.run_id, self.dt = run_id, dt
        self.roll_size = roll_size
        self.info = info
        self.capture = capture
        self.archive: RunArchive | None = None
        self._off: str | None = None  # why this run archives nothing more
        self._broken: str | None = None  # a file left as a temporary: the next run recovers it
        self._shipped = 0  # files of self.archive handed to the uploader
        self._uploads: list[tuple[ArchivedFile, Future[None]]] = []
        self._copies: dict[str, dict[str, Copy]] = {}  # file key -> URL -> last copy written to it
        self._waiting: set[str] = set()  # keys not stored: in the spool for the next run
        self._used: dict[str, Path] = {}  # reextract: files a record's provenance names -> where they are
        self._imported: set[str] = set()
        self._closing = False
        self._executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchive:
        settings = crawler.settings
        replay = bool(settings.getlist("STDCRAWL_REEXTRACT_WARC"))
        capture = settings.getbool("STDCRAWL_ARCHIVE") and not replay
        if settings.getlist("STDCRAWL_SETTINGS_ERRORS") or settings.getbool("STDCRAWL_ADHOC") or not (capture or replay):
            raise NotConfigured  # bad usage, an ad-hoc run (no lake), or no archive wanted
        where = paths(settings)
        info = {"robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore"}
        if agent := settings.get("USER_AGENT"):
            info["http-header-user-agent"] = str(agent)
        if contact := settings.get("STDCRAWL_CONTACT_URL"):
            info["operator"] = str(contact)
        ext = cls(crawler, store=open_store(where.lake, settings), spool=Spool(where.spool),
                  run_id=settings.get("STDCRAWL_RUN_ID"), dt=settings.get("STDCRAWL_RUN_DATE"),
                  roll_size=settings.getint("STDCRAWL_WARC_ROLL_SIZE"), info=info, capture=capture)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    @property
    def ledger(self) -> Ledger | None:
        export_ledger = self.crawler.get_extension(ExportLedger)
        return export_ledger.ledger if export_ledger is not None else None

    # -- capture ----------------------------------------------------------------------------

    def target(self) -> tuple[str, int] | None:
        """Where the next exchange goes, to have it encoded elsewhere: its file's warcinfo ID and the
        compression level (:func:`stdcrawl.archive.encoding.encode`); None when nothing is archived."""
        archive = self._open()
        return (archive.warcinfo_id, archive.compression_level) if archive is not None else None

    def write(self, exchange: Exchange, encoded: Encoded | None = None) -> Stored | None:
        """Archive one exchange (``encoded``: as a worker built it for :meth:`target`); None (logged and
        counted) when it could not be."""
        if (archive := self._open()) is None:
            return None
        try:
            stored = archive.write(exchange, self._last(exchange.url), encoded)
        except ArchiveError as exc:
            logger.error("Response not archived: %s", exc)
            self.stats.inc_value(events.ARCHIVE_WRITE_FAILED)
            return None
        self._copies.setdefault(stored.key, {})[stored.url] = archive.copy_of(stored)
        self.stats.inc_value(events.ARCHIVE_REVISITS if stored.revisit else events.ARCHIVE_RESPONSES)
        if len(archive.files) > self._shipped:
            self._ship()
        if self._uploads and self._uploads[0][1].done():
            self._collect(wait=False)
        return stored

    def _open(self) -> RunArchive | None:
        """The run's archive, opened on first use; None when this run archives nothing (more)."""
        if not self.capture or self._off:
            return None
        if self.archive is None:
            if self.ledger is None:
                return None  # no state to record it (a locked data dir, an unusable state): the run closes at once
            try:
                self.archive = RunArchive(self.spool.folder(self.run_id), dt=self.dt, run_id=self.run_id,
                                          roll_size=self.roll_size, info=self.info)
            except (ValueError, OSError) as exc:
                self._off = f"the run's archive cannot be opened ({exc})"
                logger.error("No WARC archive this run: %s", self._off)
                self.stats.inc_value(events.ARCHIVE_WRITE_FAILED)
                return None
        return self.archive

    def _last(self, url: str) -> Copy | None:
        """The URL's last copy: in a file of this run not yet committed, else the one the state remembers."""
        for copies in reversed(self._copies.values()):  # the files written and not yet committed, latest first
            if (copy := copies.get(url)) is not None:
                return copy
        ledger = self.ledger
        row = ledger.store.last_copy(url) if ledger is not None else None
        return Copy(*row) if row else None

    def _ship(self) -> None:
        """Hand every newly closed file to the uploader (one thread: files go in order)."""
        assert self.archive is not None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stdcrawl-warc")
        for file in self.archive.files[self._shipped:]:
            self._uploads.append((file, self._executor.submit(self._put, file)))
        self._shipped = len(self.archive.files)

    def _put(self, file: ArchivedFile) -> None:
        self.lake_store.put_file(file.key, Path(file.path))

    def _collect(self, *, wait: bool) -> None:
        """Commit the uploads that are done (all of them, waiting, with ``wait``), in order."""
        while self._uploads and (wait or self._uploads[0][1].done()):
            file, upload = self._uploads.pop(0)
            # Done with, stored or not: a file kept in the spool is no page's original in the rest of the run.
            copies = self._copies.pop(file.key, {})
            try:
                upload.result()
            except Exception as exc:  # any failure of the store: the file waits for the next run
                self._keep(file, f"could not be stored ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
                continue
            if why := self._commit(file, copies.values()):
                self._keep(file, why)
                continue
            self.spool.release_warc(Path(file.path))

    def _commit(self, file: ArchivedFile, copies: Iterable[Copy]) -> str | None:
        """Record a stored file in the state; what went wrong, or None."""
        ledger = self.ledger
        if ledger is None:
            return "was stored, but there is no state store to record it"
        try:
            ledger.commit_warc(warc_file(file), copy_rows(copies))
        except CommitFailed as exc:
            self.stats.inc_value(events.STATE_COMMIT_FAILED)
            if (export := self.crawler.get_extension(ExportLedger)) is not None:
                export.stop("state_error")  # nothing more is exported while the state cannot record it
            return f"was stored, but {exc}"
        self.stats.inc_value(events.ARCHIVE_FILES_STORED)
        self.stats.inc_value(events.ARCHIVE_BYTES_STORED, file.size)
        logger.info("WARC file %s stored: %d bytes, %d records (%d revisits)", file.key, file.size, file.records,
                    file.revisits)
        return None

    def _keep(self, file: ArchivedFile, why: str) -> None:
        """A file not stored (or not committed) stays in the spool with a sidecar; the next run stores it."""
        self._waiting.add(file.key)
        self.stats.inc_value(events.ARCHIVE_FILES_SPOOLED)
        try:
            self.spool.keep_warc(Path(file.path), {**file.to_dict(), "why": why})
            kept = "kept in the spool; the next run stores it before crawling"
        except OSError as exc:
            kept = f"kept in the spool without its sidecar ({exc.strerror or exc}); the next run stores it before crawling"
        logger.error("WARC file %s %s: %s", file.key, why, kept)

    # -- the order of commits -----------------------------------------------------------------

    def flush(self) -> list[str]:
        """Close the file being written (the run goes on in a new one), store every file, commit them.

        Returns the keys of the files that are not stored; see :func:`waiting`.
        """
        if self.archive is not None and not self._broken:
            try:
                self.archive.close() if self._closing else self.archive.roll()
            except ArchiveError as exc:
                self._broken = str(exc)
                self.stats.inc_value(events.ARCHIVE_FILES_SPOOLED)
                logger.error("The WARC file being written could not be finished (%s): the next run recovers it", exc)
            self._ship()
        self._collect(wait=True)
        if self._used:
            self._import()
        return sorted(self._waiting) + ([f"the file being written ({self._broken})"] if self._broken else [])

    def spider_closed(self) -> None:
        self._closing = True
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # -- reextract ------------------------------------------------------------------------------

    def used(self, key: str, path: Path) -> None:
        """A record of this run is read from the WARC file ``key`` (at ``path``): it must be in the lake."""
        if key not in self._used:
            self._used[key] = path

    def _import(self) -> None:
        """Store in the lake the files records name that it does not hold yet (``--warc`` files from elsewhere)."""
        ledger = self.ledger
        for key, path in list(self._used.items()):
            if key in self._imported or key in self._waiting:
                continue
            self._imported.add(key)
            if ledger is not None and ledger.store.warc_stored(key):
                continue  # stored by the run that wrote it (or an earlier reextract)
            try:
                file, copies = describe(path, key)
                self.lake_store.put_file(key, path)
            except Exception as exc:  # any failure of the store: as for the run's own files
                self._import_failed(key, path, f"could not be stored ({type(exc).__name__}: "
                                               f"{str(exc).splitlines()[0] if str(exc) else ''})")
                continue
            if why := self._commit(file, copies):
                self._import_failed(key, path, why)
                continue
            self.stats.inc_value(events.ARCHIVE_FILES_IMPORTED)

    def _import_failed(self, key: str, path: Path, why: str) -> None:
        """A file read from elsewhere that is not stored: a copy waits in the spool, as the run's own would."""
        self._waiting.add(key)
        self.stats.inc_value(events.ARCHIVE_FILES_SPOOLED)
        copy = self.spool.folder(self.run_id) / key
        try:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            self.spool.keep_warc(copy, {"key": key, "why": why})
            logger.error("WARC file %s %s: a copy is kept in the spool; the next run stores it before crawling", key, why)
        except OSError as err:
            logger.error("WARC file %s %s, and the spool cannot keep a copy (%s): the next reextract stores it", key,
                         why, err.strerror or err)
