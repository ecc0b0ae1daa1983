"""The current-articles table, committed once per run from what the run committed to the lake.

The state store leads: a run's changes are exported when their lake parts are
committed (:mod:`stdcrawl.state.ledger`). The Delta table
(``<lake>/stdaily/tables/articles``, :mod:`stdcrawl.table`) is derived from
those parts, read back from the lake, as **one** commit per run that carries
the run id, its status (``ok``, or ``failed`` when the run's monitors or
anything else failed: its changes still enter the table, which holds the best
data known) and its counts. The commit is idempotent by run id (a Delta
transaction id), so a run committed twice (a crash between the table commit
and the state recording it) is in the table once; the state records the
version each run landed in.

When the engine closes the feeds, before the run's folders are finished: first
every earlier run whose folders are finished but whose changes the table lacks
(the table was unreachable, or a crash came between), oldest first, then this
run, when all its parts are committed and its WARC files stored (a run with
parts or archives in the spool is committed by the run that recovers it). A table that cannot be written is one
ERROR line and ``stdcrawl/table/commit_failed``; the run fails (exit 1) and the
next run catches the table up. After each commit, the maintenance policy of
:mod:`stdcrawl.table.maintenance` (compaction, checkpoints, vacuum) runs when
its version says so. Off with ``STDCRAWL_TABLE=false`` and in ad-hoc runs.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from stdcrawl import events, report
from stdcrawl.extensions.warcarchive import waiting
from stdcrawl.lake.stores import Store, open_store
from stdcrawl.lake.verify import part_records
from stdcrawl.paths import paths
from stdcrawl.state import Run
from stdcrawl.state.ledger import CommitFailed, ExportLedger
from stdcrawl.table import CurrentArticles, TableError

logger = logging.getLogger(__name__)


class CurrentTable:
    def __init__(self, crawler: Crawler, table: CurrentArticles, lake: Store, run_id: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.table = table
        self.lake = lake
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CurrentTable:
        settings = crawler.settings
        if not settings.getbool("STDCRAWL_TABLE") or settings.getbool("STDCRAWL_ADHOC"):
            raise NotConfigured
        where = paths(settings)
        table = CurrentArticles.in_lake(where.lake, settings, stats=crawler.stats)
        ext = cls(crawler, table, open_store(where.lake, settings), settings.get("STDCRAWL_RUN_ID"))
        crawler.signals.connect(ext.feed_exporter_closed, signal=signals.feed_exporter_closed)
        return ext

    @property
    def ledger(self) -> ExportLedger | None:
        ledger = self.crawler.get_extension(ExportLedger)
        return ledger if ledger is not None and ledger.ledger is not None else None

    def feed_exporter_closed(self) -> None:
        export = self.ledger
        reason = (self.stats.get_value("finish_reason") if self.stats else None) or "unknown"
        if export is None or export.ledger is None or reason in ("usage_error", "state_missing"):
            return
        store = export.ledger.store
        try:
            for run, status in store.runs_not_in_table():
                self._commit(run, "ok" if status == 0 else "failed")
            this = store.run(self.run_id)
            whole = not export.failed_parts and not self.stats.get_value(events.STATE_COMMIT_FAILED) and not waiting(self.crawler)
            if this is not None and whole:
                status = report.build(self.stats.get_stats(), self.run_id, this.spider)["exit_status"]
                self._commit(this, "ok" if status == 0 else "failed")
        except (TableError, CommitFailed, OSError) as exc:
            logger.error("The current-articles table was not updated (%s): the next run catches it up", exc)
            self.stats.inc_value(events.TABLE_COMMIT_FAILED)

    def _commit(self, run: Run, status: str) -> None:
        export = self.ledger
        assert export is not None and export.ledger is not None
        articles: list[dict[str, Any]] = []
        tombstones: list[dict[str, Any]] = []
        for part in export.ledger.store.parts(run.run_id):
            if part.dataset in ("articles", "tombstones"):
                (articles if part.dataset == "articles" else tombstones).extend(part_records(self.lake.get(part.key)))
        result = self.table.commit_run(run.run_id, articles, tombstones, channel=run.channel, status=status,
                                       metadata={"spider": run.spider, "dt": run.dt})
        version = result.version if result.version is not None else self.table.version_of_run(run.run_id)
        export.ledger.table_committed(run.run_id, version if version is not None else -1)
        if run.run_id == self.run_id:
            self.stats.set_value(events.TABLE_VERSION, version)
        self.stats.inc_value(events.TABLE_RUNS_COMMITTED)
        if result.version is not None:
            self.table.maintain(result.version)
