"""The export ledger: the one writer of the state store.

It opens the store (``STDCRAWL_STATE_PATH``, default ``<STDCRAWL_DATA_DIR>/state.sqlite``)
and, each time Scrapy closes a feed part of a feed marked ``stdcrawl_state``
(the default article and tombstone feeds), commits the records that part holds,
but only if its storage says the part was stored. A part that failed to store
commits nothing: its records stay new to the state, and the next run exports
them again. This is the whole exactly-once argument (ARCHITECTURE.md).

Settings: ``STDCRAWL_STATE`` (False: no state, every run exports everything it
fetches), ``STDCRAWL_STATE_PATH``. Failures: a part not stored is an ERROR and
``stdcrawl/export/failed`` counts its records (the run then fails); a state file
that cannot be opened closes the spider at once with ``state_error``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured

from stdcrawl.state import StateError, StateStore

logger = logging.getLogger(__name__)


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
        self._unchanged: list[str] = []
        try:
            self.store = StateStore(path)
        except StateError as exc:
            self.error = str(exc)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExportLedger:
        if not crawler.settings.getbool("STDCRAWL_STATE", True):
            raise NotConfigured
        ledger = cls(crawler, state_path(crawler.settings))
        crawler.signals.connect(ledger.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ledger.feed_slot_closed, signal=signals.feed_slot_closed)
        crawler.signals.connect(ledger.engine_stopped, signal=signals.engine_stopped)
        return ledger

    def spider_opened(self) -> None:
        if self.error:
            logger.error("State store unusable: %s", self.error)
            self.stats.inc_value("stdcrawl/state/unusable")
            raise CloseSpider("state_error")
        logger.info("State store %s: %d articles known", self.path, len(self.store or ()))

    def unchanged(self, article_id: str) -> None:
        """An article fetched again with the same content: only its last_seen moves."""
        self._unchanged.append(article_id)

    def feed_slot_closed(self, slot: Any) -> None:
        if not slot.feed_options.get("stdcrawl_state") or self.store is None:
            return
        exported = list(getattr(slot.exporter, "exported", None) or [])
        stored = getattr(slot.storage, "stored", None)
        if stored:
            count = self.store.commit(exported, self.run_id, utc_now())
            self.stats.inc_value("stdcrawl/export/committed", count)
            return
        self.stats.inc_value("stdcrawl/export/failed", len(exported))
        self.stats.inc_value("stdcrawl/export/failed_parts")
        logger.error(
            "Feed part %s was not stored (%s): its %d records are not marked exported and the next run exports them again",
            slot.uri, getattr(slot.storage, "error", None) or "storage does not report success", len(exported),
        )

    def engine_stopped(self) -> None:
        if self.store is None:
            return
        try:
            self.store.touch(self._unchanged, utc_now())
        finally:
            self.store.close()
