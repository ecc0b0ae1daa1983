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
its version says so. Each run's commit and maintenance are done by a process
of their own (:mod:`stdcrawl.table.committer`), which reads the run's parts from
the lake: the crawler never loads pyarrow or delta-rs, nor holds the run's rows.
Its log lines and counters become the crawl's. Off with ``STDCRAWL_TABLE=false``
and in ad-hoc runs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from stdcrawl import events, report
from stdcrawl.extensions.warcarchive import waiting
from stdcrawl.paths import child_env
from stdcrawl.state import Run
from stdcrawl.state.ledger import CommitFailed, ExportLedger

logger = logging.getLogger(__name__)


class CommitterFailed(Exception):
    """The committer process could not commit a run (its reason, on one line)."""


class CurrentTable:
    # The committer: stdcrawl.table.committer, in a process of its own, so that pyarrow, delta-rs and the
    # run's rows never take the crawler's memory.
    command: tuple[str, ...] = ("-m", "stdcrawl.table.committer")  # after the interpreter

    def __init__(self, crawler: Crawler, settings: dict[str, Any], run_id: str) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.settings = settings
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CurrentTable:
        settings = crawler.settings
        if not settings.getbool("STDCRAWL_TABLE") or settings.getbool("STDCRAWL_ADHOC"):
            raise NotConfigured
        # What reaches the lake and the table (credentials included: they go down a pipe, never onto argv).
        lake_settings = {name: _plain(settings.get(name)) for name in settings if name.startswith(("STDCRAWL_", "AWS_"))}
        ext = cls(crawler, lake_settings, settings.get("STDCRAWL_RUN_ID"))
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
        except (CommitterFailed, CommitFailed, OSError) as exc:
            logger.error("The current-articles table was not updated (%s): the next run catches it up", exc)
            self.stats.inc_value(events.TABLE_COMMIT_FAILED)

    def _commit(self, run: Run, status: str) -> None:
        export = self.ledger
        assert export is not None and export.ledger is not None
        parts = [{"key": part.key, "dataset": part.dataset} for part in export.ledger.store.parts(run.run_id)
                 if part.dataset in ("articles", "tombstones")]
        job = {"settings": self.settings, "parts": parts, "run": {"run_id": run.run_id, "channel": run.channel,
                                                                   "spider": run.spider, "dt": run.dt, "status": status}}
        answer = self._run_committer(job)
        version = answer.get("version")
        export.ledger.table_committed(run.run_id, version if isinstance(version, int) else -1)
        if run.run_id == self.run_id:
            self.stats.set_value(events.TABLE_VERSION, version)

    def _run_committer(self, job: dict[str, Any]) -> dict[str, Any]:
        """One job done by the committer process: its answer, its log lines logged here, its counters added."""
        proc = subprocess.run([sys.executable, *self.command], input=json.dumps(job, default=str), capture_output=True, text=True,
                              env=child_env(), check=False)
        stray = []
        for line in proc.stderr.splitlines():
            try:
                record = json.loads(line)
                logging.getLogger(record["name"]).log(record["level"], "%s", record["message"])
            except (ValueError, KeyError, TypeError):
                stray.append(line)
        try:
            answer = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            for line in stray:
                logger.debug("table committer: %s", line)
            last = next((line.strip() for line in reversed(stray) if line.strip()), "no message")
            raise CommitterFailed(f"the table's committer ended with exit status {proc.returncode}: {last[:300]}") from None
        for key, count in answer.get("counters", {}).items():
            self.stats.inc_value(key, count)
        if "error" in answer:
            raise CommitterFailed(answer["error"])
        return dict(answer)


def _plain(value: Any) -> Any:
    """A setting's value as JSON can carry it: paths as strings; other objects are not the lake's settings."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else None
