"""The run's CPU time, by process: the crawler's own and its helpers' (the extraction workers, the table's committer).

Set as two stats, seconds of user plus system time since the process
started: ``stdcrawl/cpu/crawler_seconds`` (the crawl's own process,
start-up included) and ``stdcrawl/cpu/helpers_seconds`` (the child processes
it has waited for). Measured when the feeds are closed, after the table's
committer and before the lake's run report is written (the report's
figures), and again when the engine stops (the stats file's and the
summary's, a hundredth or so more). The interpreter's exit comes after and is
in neither: a few tenths of a second. The crawler's figure is what bounds a
crawl's page rate (one core); the sum is what the run costs.
"""

from __future__ import annotations

import resource

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from stdcrawl import events


class CpuTime:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CpuTime:
        assert crawler.stats is not None
        ext = cls(crawler.stats)
        crawler.signals.connect(ext.measure, signal=signals.feed_exporter_closed)
        crawler.signals.connect(ext.measure, signal=signals.engine_stopped)
        return ext

    def measure(self) -> None:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        self.stats.set_value(events.CPU_CRAWLER, round(own.ru_utime + own.ru_stime, 2))
        self.stats.set_value(events.CPU_HELPERS, round(children.ru_utime + children.ru_stime, 2))
