"""Spidermon, fed with the run history of the state store, run only when the run crawled.

The monitors compare a run with earlier ones: this extension gives them the
stats of the last ``STDCRAWL_HISTORY_RUNS`` runs of the same spider and
channel that finished normally, as spidermon's ``stats_history``. Before they
run, it compares the run's page templates with the same history
(:mod:`stdcrawl.drift`) and reports a template change (a WARNING per new
template, naming pages; ``stdcrawl/drift/template_changes`` for the report and
the manifest), which fails nothing by itself. A run that stopped before its
first request (bad usage, an unusable or missing state store, a locked state, an
unreachable lake) already fails by its finish reason; judging its coverage or
its error count would only add noise, so the monitors do not run. The monitors
themselves are in :mod:`stdcrawl.monitors`.
"""

from __future__ import annotations

import logging

from typing import Any

from scrapy import Spider
from spidermon.contrib.scrapy.extensions import Spidermon
from spidermon.contrib.scrapy.runners import SpiderMonitorResult, SpiderMonitorRunner

from stdcrawl import drift, events
from stdcrawl.state.ledger import ExportLedger

logger = logging.getLogger(__name__)

NOT_CRAWLED = frozenset({"usage_error", "state_error", "state_missing", "data_dir_locked", "lake_unavailable"})


class _Result(SpiderMonitorResult):
    """Spidermon's report of the monitors, a line per monitor; a failure is one line, not a traceback."""

    def write_errors(self) -> None:
        for status in self.step.error_statuses:
            for item in self.step.items_for_status(status):
                lines = (item.error or "").strip().splitlines()
                reason = lines[-1].removeprefix("AssertionError: ") if lines else status
                logger.error("Monitor failed: %s: %s", item.item.name, reason)

    def log(self, msg: Any, level: int = logging.DEBUG) -> None:
        logger.log(level, "[Spidermon] %s", msg)  # not Spider.log, which is deprecated


class _Runner(SpiderMonitorRunner):
    def create_result(self) -> _Result:
        return _Result(self.spider)


class Monitoring(Spidermon):
    def spider_opened(self, spider: Any) -> None:
        ledger = self.crawler.get_extension(ExportLedger)
        spider.stats_history = []
        if ledger is not None and ledger.store is not None:
            channel = getattr(getattr(spider, "channel", None), "name", None)
            spider.stats_history = ledger.store.history(spider.name, channel, self.crawler.settings.getint("STDCRAWL_HISTORY_RUNS"))
        super().spider_opened(spider)

    def spider_closed(self, spider: Any) -> None:
        stats = self.crawler.stats
        reason = stats.get_value("finish_reason")
        if reason in NOT_CRAWLED:
            logger.info("Monitors not run: the run stopped before crawling (%s)", reason)
            return
        share = self.crawler.settings.getfloat("STDCRAWL_TEMPLATE_CHANGE_SHARE")
        changes = drift.template_changes(stats.get_stats(), getattr(spider, "stats_history", []), share)
        for change in changes:
            logger.warning(
                "Template change: %d of %d articles in a page structure (%s) no recent run saw; every field still read, "
                "so the run does not fail. Pages: %s", change["articles"], change["of"], change["template"],
                ", ".join(change["samples"]) or "-",
            )
        if changes:
            stats.set_value(events.DRIFT_TEMPLATE_CHANGES, changes)
        super().spider_closed(spider)

    def _run_suites(self, spider: Spider, suites: list[Any]) -> None:
        data = self._generate_data_for_spider(spider)
        for suite in suites:
            _Runner(spider=spider).run(suite, **data)
