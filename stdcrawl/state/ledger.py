"""The export ledger: the one writer of the state store.

Every write to the state goes through :class:`Ledger` (pure, no Scrapy), and
during a crawl through the :class:`ExportLedger` extension that owns it:

- **a lake part stored** (Scrapy's ``feed_slot_closed`` signal, the feed
  storage saying it stored the part): the part (key, records, bytes, SHA-256)
  and the records it holds are committed in one transaction; the staged copy
  leaves the spool. **Not stored**: nothing is committed, so its records stay
  new to the state; the staged copy stays in the spool with a sidecar saying
  what it holds, and the next run stores and commits it before crawling;
- **a commit that fails** (the state file locked past the busy timeout, the
  disk full): the run stops with ``state_error`` and exit 1, the part stays in
  the lake *and* in the spool with its sidecar, and the next run commits it.
  Nothing stored is ever deleted because the state could not say so;
- **a WARC file stored** (:mod:`stdcrawl.extensions.warcarchive`): the file and the
  last archived copy of each URL it holds, in one transaction. A part is
  committed only once every WARC file of the run written so far is stored, so
  the provenance of a committed record always names a stored file; when one
  is not, the part is kept in the spool like a part not stored;
- **run facts**: a run's start, its finish (reason, counts, stats, whether its
  list walk was complete), its lake folders finished; parts of earlier runs
  recovered from the spool (through :class:`~stdcrawl.extensions.lakeruns.LakeRuns`);
- **articles read again unchanged** (their ``last_seen``, URLs they were met at)
  and **articles not got** (pending: the next run fetches them again, up to
  ``STDCRAWL_PENDING_RUNS`` runs), when the engine stops.

This is the whole exactly-once argument (docs/architecture.md): an article is
exported when the part holding it is stored *and* committed; before that a
crash loses nothing (the next run fetches it again or finds it in the spool),
after it nothing is redone.

The extension also holds the state store's lock (``<state>.lock``, released by
the kernel however the process ends), so two runs sharing one state store never
run at once, whatever data dirs they were given: the second closes at once with
``data_dir_locked`` and says which run holds it. Feeds given on the command line
(``-o``/``-O``) make an ad-hoc run: it neither reads nor writes the state.

Failures: a part not stored is an ERROR and counts in ``stdcrawl/export/failed``
(its records) and ``stdcrawl/lake/parts_spooled``; a state file that cannot be
opened closes the spider at once with ``state_error`` (``stdcrawl/state/unusable``);
a failed commit counts in ``stdcrawl/state/commit_failed``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.utils.defer import deferred_from_coro

from stdcrawl import events
from stdcrawl.clock import utc_now
from stdcrawl.paths import paths
from stdcrawl.state.spool import Spool
from stdcrawl.state.store import CopyRow, Export, Part, Run, Seen, StateError, StateStore, WarcFile

logger = logging.getLogger(__name__)


class CommitFailed(RuntimeError):
    """The state store could not record what the lake holds; ``str(exc)`` is one line."""


class Ledger:
    """Every write to one state store. ``commit_part`` and the run methods raise :class:`CommitFailed`."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def _write(self, what: str, write: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return write(*args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise CommitFailed(f"the state store {self.store.path} could not record {what}: {exc}") from None

    def commit_part(self, part: Part, exports: list[Export], *, run_id: str | None = None) -> int:
        """A stored part and the records it holds, all or nothing."""
        return int(self._write(f"part {part.key}", self.store.commit, exports, run_id or self.run_id, utc_now(), part))

    def commit_warc(self, file: WarcFile, copies: Iterable[CopyRow], *, run_id: str | None = None) -> None:
        """A WARC file stored in the lake, with the last copies of the URLs it holds, all or nothing."""
        self._write(f"WARC file {file.key}", self.store.commit_warc, file, list(copies), run_id or self.run_id, utc_now())

    def start_run(self, run: Run) -> None:
        self._write(f"the start of run {run.run_id}", self.store.start_run, run)

    def finish_run(
        self, reason: str, counts: dict[str, Any], stats: dict[str, Any], *, walk_complete: bool, exit_status: int | None,
        finished_at: str | None = None,
    ) -> None:
        self._write(
            f"the end of run {self.run_id}", self.store.finish_run, self.run_id, finished_at or utc_now(), reason, counts,
            stats, walk_complete=walk_complete, exit_status=exit_status,
        )

    def table_committed(self, run_id: str, version: int) -> None:
        """The run's changes are in the current-articles table, at this version."""
        self._write(f"run {run_id} as committed to the table", self.store.set_table_version, run_id, version)

    def complete_run(self, run_id: str) -> None:
        """The run's lake folders are finished (manifests and _SUCCESS written)."""
        self._write(f"run {run_id} as finished in the lake", self.store.complete_run, run_id)

    def seen_unchanged(self, seen: Iterable[Seen]) -> None:
        self._write("the articles read again unchanged", self.store.touch, list(seen), utc_now())

    def record_pending(self, failures: Iterable[tuple[str, str | None, str | None, str]], give_up_after: int) -> list[str]:
        """Articles not got this run; returns those given up after ``give_up_after`` runs."""
        return list(self._write("the articles not got", self.store.record_failures, list(failures), utc_now(), give_up_after))


class _OneLineStoreErrors(logging.Filter):
    """Scrapy logs a feed that could not be stored with its traceback; for a lake part the ledger says
    what happened and what the next run does, in one line, so Scrapy's line keeps its message only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Error storing"):
            error = record.exc_info[1]
            record.msg = f"{record.msg} ({type(error).__name__}: {error})" if error else record.msg
            record.exc_info = None
        return True


class ExportLedger:
    """The Scrapy side of the ledger: the lock, the store, the spool, the feed-slot signal."""

    def __init__(
        self, crawler: Crawler, *, state_path: Path, lock_path: Path, spool: Spool, run_id: str, pending_runs: int,
        active: bool,
    ) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.run_id = run_id
        self.path = state_path
        self.spool = spool
        self.pending_runs = pending_runs
        self.store: StateStore | None = None
        self.ledger: Ledger | None = None
        self.error: str | None = None
        self.locked: str | None = None
        self.failed_parts: list[str] = []
        self.walk_complete = False  # the spider says so when its walk proved every list's end
        self._unchanged: dict[str, Seen] = {}
        self._failures: dict[str, tuple[str, str | None, str | None, str]] = {}
        self._lock: IO[str] | None = None
        if not active:
            return  # bad usage (the spider says so and closes) or an ad-hoc run (no state at all)
        self._lock = self._take_lock(lock_path)
        if self.locked or self.error:
            return
        try:
            self.store = StateStore(state_path)
        except StateError as exc:
            self.error = str(exc)
            return
        self.ledger = Ledger(self.store, run_id)

    def _take_lock(self, path: Path) -> IO[str] | None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = path.open("a+", encoding="utf-8")
        except OSError as exc:
            self.error = f"cannot use the state store's folder {path.parent}: {exc.strerror or exc}"
            return None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            self.locked = f"another stdcrawl run holds the data dir's state store {self.path} ({holder}); not crawling"
            lock.close()
            return None
        lock.seek(0)
        lock.truncate()
        lock.write(f"run {self.run_id}, pid {os.getpid()}\n")
        lock.flush()
        return lock

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExportLedger:
        settings = crawler.settings
        where = paths(settings)
        active = not settings.getlist("STDCRAWL_SETTINGS_ERRORS") and not settings.getbool("STDCRAWL_ADHOC")
        ledger = cls(
            crawler, state_path=where.state, lock_path=where.lock, spool=Spool(where.spool),
            run_id=settings.get("STDCRAWL_RUN_ID"), pending_runs=settings.getint("STDCRAWL_PENDING_RUNS"), active=active,
        )
        feeds = logging.getLogger("scrapy.extensions.feedexport")
        if not any(isinstance(f, _OneLineStoreErrors) for f in feeds.filters):
            feeds.addFilter(_OneLineStoreErrors())
        crawler.signals.connect(ledger.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ledger.feed_slot_closed, signal=signals.feed_slot_closed)
        crawler.signals.connect(ledger.engine_stopped, signal=signals.engine_stopped)
        return ledger

    def spider_opened(self) -> None:
        if self.locked:
            logger.error("%s", self.locked)
            self.stats.inc_value(events.STATE_LOCKED)
            raise CloseSpider("data_dir_locked")
        if self.error:
            logger.error("State store unusable: %s", self.error)
            self.stats.inc_value(events.STATE_UNUSABLE)
            raise CloseSpider("state_error")
        if self.store is not None:
            logger.info("State store %s: %d articles known", self.path, len(self.store))

    def unchanged(self, seen: Seen) -> None:
        """An article fetched again with the same content: only its last_seen (and URLs) move."""
        self._unchanged[seen.id] = seen

    def failed(self, url: str, channel: str | None, summary: str | None, reason: str) -> None:
        """An article this run could not get (after its retries): the next run tries it again."""
        self._failures[url] = (url, channel, summary, reason)
        self.stats.set_value(events.PENDING_ARTICLES, len(self._failures))

    def got(self, urls: Iterable[str]) -> None:
        """Articles got after all (a twin, a second try): not pending."""
        for url in urls:
            self._failures.pop(url, None)
        self.stats.set_value(events.PENDING_ARTICLES, len(self._failures))

    def feed_slot_closed(self, slot: Any) -> None:
        dataset = slot.feed_options.get("stdcrawl_dataset")
        if not dataset or self.ledger is None:
            return
        storage = slot.storage
        exports = list(getattr(slot.exporter, "exported", None) or []) if slot.feed_options.get("stdcrawl_state") else []
        part = Part(storage.key, dataset, slot.itemcount, storage.size, storage.sha256)
        if storage.stored and (waiting := _warc_waiting(self.crawler)):
            # Its records' provenance may name those files: committed once they are stored (the next run).
            self._keep(part, exports, storage.spooled, f"was stored, but WARC file(s) of the run are not ({', '.join(waiting)})")
            return
        if storage.stored:
            try:
                count = self.ledger.commit_part(part, exports)
            except CommitFailed as exc:
                self._keep(part, exports, storage.spooled, f"was stored, but {exc}")
                self.stats.inc_value(events.STATE_COMMIT_FAILED)
                self.stop("state_error")
                return
            if storage.spooled is not None:
                self.spool.release(storage.spooled)
            self.got(url for e in exports for url in (e.url, *e.aliases))
            self.stats.inc_value(events.EXPORT_COMMITTED, count)
            self.stats.inc_value(events.LAKE_PARTS_STORED)
            return
        self._keep(part, exports, storage.spooled, f"was not stored ({storage.error or 'no reason given'})")

    def _keep(self, part: Part, exports: list[Export], staged: Path | None, why: str) -> None:
        """A part whose records are not committed: the next run stores and commits it from the spool."""
        self.failed_parts.append(part.key)
        self.stats.inc_value(events.EXPORT_FAILED, len(exports))
        self.stats.inc_value(events.EXPORT_FAILED_PARTS)
        kept = False
        if staged is not None:
            try:
                self.spool.keep(staged, part, exports)
                kept = True
                self.stats.inc_value(events.LAKE_PARTS_SPOOLED)
            except OSError as exc:
                why += f"; the spool could not keep it either ({exc.strerror or exc})"
        logger.error(
            "Lake part %s %s: its %d records are %s", part.key, why, part.records,
            f"kept in the spool {staged}; the next run uploads it before crawling and commits it" if kept
            else "not kept: the next run fetches and exports them again",
        )

    def stop(self, reason: str) -> None:
        """Stop crawling: nothing more should be exported while the state cannot record it."""
        if self.crawler.crawling and self.crawler.engine is not None and self.crawler.engine.spider is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def engine_stopped(self) -> None:
        if self.store is None or self.ledger is None:
            return
        try:
            self.ledger.seen_unchanged(self._unchanged.values())
            for url in self.ledger.record_pending(self._failures.values(), self.pending_runs):
                logger.warning("Giving up on %s: it failed %d runs in a row", url, self.pending_runs)
                self.stats.inc_value(events.STATE_PENDING_GIVEN_UP)
        except CommitFailed as exc:
            # Nothing exported depends on these: the next run fetches the same articles again.
            logger.error("%s; the next run fetches those articles again", exc)
            self.stats.inc_value(events.STATE_COMMIT_FAILED)
        finally:
            self.store.close()


def _warc_waiting(crawler: Crawler) -> list[str]:
    """The run's WARC files not stored in the lake, after storing every one it can (none without an archive)."""
    from stdcrawl.extensions.warcarchive import waiting  # the archive's extension uses this module

    return waiting(crawler)
