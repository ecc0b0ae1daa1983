"""A progress line while the run goes: pages, articles, errors, rate.

On a terminal it is redrawn on stderr every second; otherwise it is an INFO
log line every ``STDCRAWL_PROGRESS_INTERVAL`` seconds (60; 0 turns it off),
in place of Scrapy's own "Crawled N pages" line, which knows nothing of articles.
"""

from __future__ import annotations

import logging
import sys
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from stdcrawl import events, report

logger = logging.getLogger(__name__)


class Progress:
    def __init__(self, crawler: Crawler, interval: float, terminal: bool) -> None:
        self.stats = crawler.stats
        self.interval = interval
        self.terminal = terminal
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        terminal = sys.stderr.isatty()
        interval = 1.0 if terminal else crawler.settings.getfloat("STDCRAWL_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval, terminal)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def line(self) -> str:
        s = self.stats.get_value
        pages = s("response_received_count", 0)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        errors = sum(report.errors_by_kind(self.stats.get_stats()).values())
        return (
            f"pages {pages}  articles {s(events.ARTICLES_EXTRACTED, 0)}  "
            f"new {s(events.STATE_NEW, 0)}  errors {errors}  {pages / elapsed:.1f} pages/s"
        )

    def tick(self) -> None:
        if self.terminal:
            sys.stderr.write(f"\r\x1b[K{self.line()}")
            sys.stderr.flush()
        else:
            logger.info("Progress: %s", self.line())

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.terminal:
            sys.stderr.write(f"\r\x1b[K{self.line()}\n")
            sys.stderr.flush()
