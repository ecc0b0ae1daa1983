"""Field coverage: how many articles came with each field filled, for the run monitors.

Counts every article that reaches it (after cleaning, before validation and
before unchanged articles are dropped), so an incremental run's re-checked
articles count too. Stats: ``stdcrawl/coverage/articles`` and
``stdcrawl/coverage/<field>`` for each field of ``STDCRAWL_COVERAGE_FIELDS``.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from stdcrawl import events
from stdcrawl.record import Article


class CoveragePipeline:
    def __init__(self, stats: StatsCollector, fields: list[str]) -> None:
        self.stats = stats
        self.fields = fields

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CoveragePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats, crawler.settings.getlist("STDCRAWL_COVERAGE_FIELDS"))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article):
            self.stats.inc_value(events.COVERAGE_ARTICLES)
            for name in self.fields:
                if getattr(item, name):
                    self.stats.inc_value(events.coverage(name))
        return item
