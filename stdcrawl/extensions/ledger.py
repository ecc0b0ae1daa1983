"""The export ledger: the one writer of the state store.

It opens the store (``STDCRAWL_STATE_PATH``, default ``<STDCRAWL_DATA_DIR>/state.sqlite``)
and, each time Scrapy closes a part of a lake feed, looks at what the feed
storage says. Stored: the part (key, records, bytes, SHA-256) and the records
it holds are committed to the state in one transaction. Not stored: nothing is
committed, so its records stay new to the state; the storage kept the part's
bytes in the spool, and the ledger writes beside them what the part holds, so
the next run can upload it and commit it then. This is the whole exactly-once
argument (ARCHITECTURE.md). Feeds given on the command line are not lake feeds
and never touch the state. Articles the run could not get are remembered as
pending when the run ends (and forgotten once exported): the next run fetches
them again, up to ``STDCRAWL_PENDING_RUNS`` runs.

It also holds the data dir's lock (``<data dir>/stdcrawl.lock``, released by
the kernel however the process ends), so two runs never work on one data dir:
the second closes at once with ``data_dir_locked`` and says which run holds it.

Failures: a part not stored is an ERROR and counts in ``stdcrawl/export/failed``
(its records) and ``stdcrawl/lake/parts_spooled``; a state file that cannot be
opened closes the spider at once with ``state_error``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from stdcrawl.lake.stores import write_atomically
from stdcrawl.state import Part, StateError, StateStore

logger = logging.getLogger(__name__)
SIDECAR = ".spool.json"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def state_path(settings: Any) -> Path:
    configured = settings.get("STDCRAWL_STATE_PATH")
    return Path(configured) if configured else Path(settings.get("STDCRAWL_DATA_DIR") or "data") / "state.sqlite"


class ExportLedger:
    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.run_id: str = crawler.settings.get("STDCRAWL_RUN_ID")
        self.path = path
        self.store: StateStore | None = None
        self.error: str | None = None
        self.locked: str | None = None
        self.failed_parts: list[str] = []
        self._unchanged: list[str] = []
        self._failures: dict[str, tuple[str, str | None, str | None, str]] = {}
        self._lock = self._take_lock(Path(crawler.settings.get("STDCRAWL_DATA_DIR") or "data"))
        if self.locked:
            return
        try:
            self.store = StateStore(path)
        except StateError as exc:
            self.error = str(exc)

    def _take_lock(self, data_dir: Path) -> IO[str] | None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            lock = (data_dir / "stdcrawl.lock").open("a+", encoding="utf-8")
        except OSError as exc:
            self.error = f"cannot use the data dir {data_dir}: {exc.strerror or exc}"
            return None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            self.locked = f"another stdcrawl run holds the data dir {data_dir} ({holder}); not crawling"
            lock.close()
            return None
        lock.seek(0)
        lock.truncate()
        lock.write(f"run {self.run_id}, pid {os.getpid()}\n")
        lock.flush()
        return lock

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExportLedger:
        ledger = cls(crawler, state_path(crawler.settings))
        crawler.signals.connect(ledger.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ledger.feed_slot_closed, signal=signals.feed_slot_closed)
        crawler.signals.connect(ledger.engine_stopped, signal=signals.engine_stopped)
        return ledger

    def spider_opened(self) -> None:
        if self.locked:
            logger.error("%s", self.locked)
            self.stats.inc_value("stdcrawl/state/locked")
            raise CloseSpider("data_dir_locked")
        if self.error:
            logger.error("State store unusable: %s", self.error)
            self.stats.inc_value("stdcrawl/state/unusable")
            raise CloseSpider("state_error")
        logger.info("State store %s: %d articles known", self.path, len(self.store or ()))

    def unchanged(self, article_id: str) -> None:
        """An article fetched again with the same content: only its last_seen moves."""
        self._unchanged.append(article_id)

    def failed(self, url: str, channel: str | None, summary: str | None, reason: str) -> None:
        """An article this run could not get (after its retries): the next run tries it again."""
        self._failures[url] = (url, channel, summary, reason)
        self.stats.set_value("stdcrawl/pending/articles", len(self._failures))

    def feed_slot_closed(self, slot: Any) -> None:
        dataset = slot.feed_options.get("stdcrawl_dataset")
        if not dataset or self.store is None:
            return
        storage = slot.storage
        exports = list(getattr(slot.exporter, "exported", None) or []) if slot.feed_options.get("stdcrawl_state") else []
        part = Part(storage.key, dataset, slot.itemcount, storage.size, storage.sha256)
        if storage.stored:
            count = self.store.commit(exports, self.run_id, utc_now(), part)
            for e in exports:  # got after all (a twin, a second try): not pending
                for url in (e.url, *e.aliases):
                    self._failures.pop(url, None)
            self.stats.inc_value("stdcrawl/export/committed", count)
            self.stats.inc_value("stdcrawl/lake/parts_stored")
            return
        self.failed_parts.append(part.key)
        self.stats.inc_value("stdcrawl/export/failed", len(exports))
        self.stats.inc_value("stdcrawl/export/failed_parts")
        if storage.spooled:
            sidecar = {"part": asdict(part), "exports": [asdict(e) for e in exports]}
            write_atomically(Path(f"{storage.spooled}{SIDECAR}"), json.dumps(sidecar).encode())
            self.stats.inc_value("stdcrawl/lake/parts_spooled")
        logger.error(
            "Lake part %s was not stored (%s): its %d records are %s; the next run uploads it before crawling",
            part.key, storage.error or "no reason given", slot.itemcount,
            f"kept in the spool {storage.spooled}" if storage.spooled else "lost here, and will be fetched and exported again",
        )

    def engine_stopped(self) -> None:
        if self.store is None:
            return
        try:
            self.store.touch(self._unchanged, utc_now())
            limit = self.crawler.settings.getint("STDCRAWL_PENDING_RUNS", 5)
            for url in self.store.record_failures(self._failures.values(), utc_now(), limit):
                logger.warning("Giving up on %s: it failed %d runs in a row", url, limit)
                self.stats.inc_value("stdcrawl/state/pending_given_up")
        finally:
            self.store.close()
