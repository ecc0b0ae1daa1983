"""Retries that honour Retry-After (replaces Scrapy's RetryMiddleware).

A 429 or 503 that says how long to wait (seconds or an HTTP date) is retried
after that wait, and the host's download slot pauses as long, so the other
requests to the site wait too. A wait longer than ``STDCRAWL_MAX_RETRY_AFTER``
seconds is not retried in this run: the page fails (and is fetched again by a
later run). Counters: ``stdcrawl/retry_after/waits``, ``.../seconds``, ``.../too_long``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


def retry_after(response: Response) -> float | None:
    """Seconds the server asks to wait, from a Retry-After header; None when there is none."""
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("STDCRAWL_MAX_RETRY_AFTER", 300)

    async def process_response(self, request: Request, response: Response, spider: object = None) -> Request | Response:
        wait = retry_after(response) if response.status in (429, 503) and not request.meta.get("dont_retry") else None
        if wait is not None:
            stats = self.crawler.stats
            if wait > self.max_wait:
                logger.warning("%s asks to wait %.0f s before a retry, more than STDCRAWL_MAX_RETRY_AFTER: not retried now", request.url, wait)
                stats.inc_value("stdcrawl/retry_after/too_long")
                return response
            stats.inc_value("stdcrawl/retry_after/waits")
            stats.inc_value("stdcrawl/retry_after/seconds", round(wait))
            self._pause_host(request, wait)
            await asyncio.sleep(wait)
        return super().process_response(request, response)

    def _pause_host(self, request: Request, wait: float) -> None:
        """Hold the host's download slot: its next request starts ``wait`` seconds from now at the earliest."""
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None:
            # The downloader delays a slot's next request until lastseen + delay.
            slot.lastseen = max(slot.lastseen, time.time() + wait - slot.delay)
