"""The interpreter's garbage collector, set for a long crawl (``STDCRAWL_GC_THRESHOLD``).

Python's cyclic collector runs after every 700 new container objects, and
each full pass walks every object alive. A crawler holds hundreds of thousands
of them from the moment it starts (Scrapy, Twisted, lxml, pyarrow and
deltalake, the settings, the state's caches), none of them ever garbage, and a
page makes thousands of short-lived ones: measured in bench/throughput.py, the
collector took a tenth of the crawler's CPU. When the engine starts, the
objects alive then are frozen out of the collector's passes (``gc.freeze``:
they stay alive as they were) and the first generation is collected every
``STDCRAWL_GC_THRESHOLD`` new objects instead of 700, which keeps a few
thousand cycles longer, a few MB at most. The collector's own settings come
back when the engine stops. 0 leaves the collector as Python sets it.
"""

from __future__ import annotations

import gc

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class GarbageCollector:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._before: tuple[int, int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GarbageCollector:
        threshold = crawler.settings.getint("STDCRAWL_GC_THRESHOLD")
        if threshold <= 0:
            raise NotConfigured
        ext = cls(threshold)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_started(self) -> None:
        self._before = gc.get_threshold()
        gc.collect()  # the start-up garbage first: what is frozen is only what is alive
        gc.freeze()
        gc.set_threshold(self.threshold, *self._before[1:])

    def engine_stopped(self) -> None:
        if self._before is not None:
            gc.set_threshold(*self._before)
            gc.unfreeze()
            self._before = None
