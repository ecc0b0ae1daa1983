"""Spidermon, fed with the run history of the state store, run only when the run crawled.

The monitors compare a run with earlier ones: this extension gives them the
stats of the last ``STDCRAWL_HISTORY_RUNS`` runs of the same spider and
channel that finished normally, as spidermon's ``stats_history``. A run that
stopped before its first request (bad usage, an unusable state store, a
locked data dir, an unreachable lake) already fails by its finish reason;
judging its coverage or its error count would only add noise, so the monitors
do not run. The monitors themselves are in :mod:`stdcrawl.monitors`.
"""

from __future__ import annotations

import logging

from scrapy import Spider
from spidermon.contrib.scrapy.extensions import Spidermon

from stdcrawl.extensions.ledger import ExportLedger

logger = logging.getLogger(__name__)

NOT_CRAWLED = frozenset({"usage_error", "state_error", "data_dir_locked", "lake_unavailable"})


class Monitoring(Spidermon):
    def spider_opened(self, spider: Spider) -> None:
        ledger = self.crawler.get_extension(ExportLedger)
        if ledger is not None and ledger.store is not None:
            channel = getattr(getattr(spider, "channel", None), "name", None)
            limit = self.crawler.settings.getint("STDCRAWL_HISTORY_RUNS", 10)
            spider.stats_history = ledger.store.history(spider.name, channel, limit)
        super().spider_opened(spider)

    def spider_closed(self, spider: Spider) -> None:
        reason = self.crawler.stats.get_value("finish_reason")
        if reason in NOT_CRAWLED:
            logger.info("Monitors not run: the run stopped before crawling (%s)", reason)
            return
        super().spider_closed(spider)
