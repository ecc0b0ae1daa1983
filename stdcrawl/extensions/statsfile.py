"""Write the run's final stats as JSON (``STDCRAWL_STATS_FILE``), for tools and tests.

Off (``NotConfigured``) when the setting is empty. A write failure is logged as
an error; it never hides the crawl's own result.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


class StatsFile:
    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsFile:
        path = crawler.settings.get("STDCRAWL_STATS_FILE")
        if not path:
            raise NotConfigured
        ext = cls(crawler, Path(path))
        # After the feed exporter closed, the stats are final (finish_reason is in, every part
        # stored or not). A spider closed while opening never starts the engine, so
        # engine_stopped is not always sent; when it is, it writes the same again.
        crawler.signals.connect(ext.write, signal=signals.feed_exporter_closed)
        crawler.signals.connect(ext.write, signal=signals.engine_stopped)
        return ext

    def write(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(stats, default=str, indent=1, sort_keys=True), encoding="utf-8")
        except OSError as exc:
            logger.error("Could not write the stats file %s: %s", self.path, exc)
