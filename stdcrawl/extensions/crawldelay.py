"""Obey robots.txt's Crawl-delay (Scrapy's robots.txt middleware only obeys Allow and Disallow).

When the site's robots.txt is parsed, its Crawl-delay for our User-Agent
becomes the least delay between two requests to the site: for the download
slots already open, for the ones opened later, and for AutoThrottle, which
never goes below it. A delay above ``STDCRAWL_MAX_CRAWL_DELAY`` is capped
there, with a warning. Stat: ``stdcrawl/politeness/crawl_delay``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.extensions.throttle import AutoThrottle

from stdcrawl import events

logger = logging.getLogger(__name__)


class CrawlDelay:
    def __init__(self, crawler: Crawler, user_agent: str, cap: float) -> None:
        self.crawler = crawler  # its download slots and AutoThrottle are what the delay changes
        self.user_agent = user_agent
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        ext = cls(crawler, settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"), settings.getfloat("STDCRAWL_MAX_CRAWL_DELAY"))
        crawler.signals.connect(ext.robots_parsed, signal=signals.robots_parsed)
        return ext

    def robots_parsed(self, robotparser: Any, request: Any) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if not delay:
            return
        if delay > self.cap:
            logger.warning("robots.txt asks for Crawl-delay: %s s; capped at STDCRAWL_MAX_CRAWL_DELAY=%s s", delay, self.cap)
            delay = self.cap
        logger.info("robots.txt asks for Crawl-delay: %s s between requests: obeyed", delay)
        self.crawler.stats.set_value(events.POLITENESS_CRAWL_DELAY, delay)
        spider: Any = self.crawler.spider
        spider.download_delay = max(getattr(spider, "download_delay", 0) or 0, delay)  # slots opened from now on
        for slot in self.crawler.engine.downloader.slots.values():
            # The site's slot is open (robots.txt came through it). A delay jittered around the
            # crawl delay would go below it half the time: the crawl delay is a floor.
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0
        throttle = self.crawler.get_extension(AutoThrottle) if self.crawler.settings.getbool("AUTOTHROTTLE_ENABLED") else None
        if throttle is not None:
            throttle.mindelay = max(throttle.mindelay, delay)
