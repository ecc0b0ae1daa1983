"""Retry-After: a 429 or 503 that says how long to wait pauses the site, then is retried.

A 429 or 503 with a ``Retry-After`` header (seconds or an HTTP date) pauses
the site (the request's host) for that long: every request to it that reaches this middleware meanwhile waits in
``process_request`` until the pause ends, and the page that got the answer
waits in ``process_response``, then goes back to the scheduler as a retry
(Scrapy's retry budget: ``RETRY_TIMES``, ``retry_times`` meta). Responses
without ``Retry-After`` and exceptions are left to Scrapy's RetryMiddleware
(550), which this middleware sits above.

Waiting requests never hold a download slot (a slot is only entered after
``process_request``), so the download delay, AutoThrottle and the robots.txt
Crawl-delay keep working as they do, and only ``CONCURRENT_REQUESTS`` places
are held while the site pauses. A request already handed to the download
slot when the pause begins still goes out (at most
``CONCURRENT_REQUESTS_PER_DOMAIN - 1`` of them).

Settings: ``STDCRAWL_MAX_RETRY_AFTER`` (seconds): a longer wait is not
retried in this run (the page fails now and is pending for the next run) and
does not pause the site; ``RETRY_ENABLED`` off: the site still pauses, nothing
is retried.

Failure modes: a shutdown (SIGTERM, Ctrl-C) or a spider closing for another
reason (``CLOSESPIDER_TIMEOUT``) ends every wait within a quarter of a second:
the waiting request fails with :class:`RetryAfterInterrupted`, so its errback
runs (the spider remembers the article as pending). A ``Retry-After`` that is
neither a number nor an HTTP date is ignored (Scrapy's retry applies).

Counters: ``stdcrawl/retry_after/waits``, ``.../seconds`` (asked for, rounded),
``.../held`` (requests that waited for a pause another page asked for),
``.../too_long``, ``.../interrupted``.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import Self

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached


logger = logging.getLogger(__name__)

CODES = frozenset((429, 503))
POLL = 0.25  # seconds between two looks at whether the crawl is stopping, while waiting


class RetryAfterInterrupted(IgnoreRequest):
    """The crawl stopped while this request waited for a Retry-After pause."""

    reason = "retry_after_interrupted"


def retry_after(response: Response) -> float | None:
    """Seconds the server asks to wait, from a Retry-After header; None when there is none or it is unreadable."""
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
    if when.tzinfo is None:  # an HTTP date is GMT; a date without a zone is read as such
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def site_of(request: Request) -> str:
    """The key a pause is kept under: the host. Not the download slot key, which the downloader
    sets only once a request reaches it (and which is an IP with CONCURRENT_REQUESTS_PER_IP)."""
    return urlparse_cached(request).hostname or ""


class RetryAfterMiddleware:
    """Honour Retry-After on 429 and 503: pause the site, retry the page after the wait (module docstring)."""

    def __init__(self, crawler: Crawler, max_wait: float, retry_enabled: bool) -> None:
        self.crawler = crawler
        self.max_wait = max_wait
        self.retry_enabled = retry_enabled
        # site -> when its pause ends, on Scrapy's clock (time.monotonic(), as its downloader uses).
        self._resume_at: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        return cls(crawler, settings.getfloat("STDCRAWL_MAX_RETRY_AFTER"), settings.getbool("RETRY_ENABLED"))

    async def process_request(self, request: Request) -> None:
        site = site_of(request)
        if self._resume_at.get(site, 0.0) > monotonic():
            self._inc("held")
            await self._wait(site, request)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in CODES or request.meta.get("dont_retry"):
            return response
        wait = retry_after(response)
        if wait is None:
            return response  # Scrapy's RetryMiddleware retries it as any 503
        if wait > self.max_wait:
            logger.warning(
                "%s answered %d asking to wait %.0f s, more than STDCRAWL_MAX_RETRY_AFTER=%g: not retried in this run",
                request.url, response.status, wait, self.max_wait,
            )
            self._inc("too_long")
            request.meta["dont_retry"] = True  # nor by RetryMiddleware below, at once: the site asked us to wait
            return response
        self._inc("waits")
        self._inc("seconds", round(wait))
        site = site_of(request)
        self._resume_at[site] = max(self._resume_at.get(site, 0.0), monotonic() + wait)
        retry = self._retry(request, response) if self.retry_enabled else None
        if retry is None:
            return response  # the budget is spent: the page fails now; the site still pauses for the others
        logger.info("%s answered %d with Retry-After: %.0f s: the site pauses, then the page is retried",
                    request.url, response.status, wait)
        await self._wait(site, request)
        return retry

    def _retry(self, request: Request, response: Response) -> Request | None:
        assert self.crawler.spider is not None
        return get_retry_request(request, spider=self.crawler.spider, reason=f"retry_after_{response.status}")

    async def _wait(self, site: str, request: Request) -> None:
        while (left := self._resume_at.get(site, 0.0) - monotonic()) > 0:
            if self._stopping():
                self._inc("interrupted")
                logger.info("The crawl is stopping: %s no longer waits for the site's Retry-After pause", request.url)
                raise RetryAfterInterrupted(f"the crawl stopped while {request.url} waited for a Retry-After pause")
            await sleep(min(left, POLL))
        self._resume_at.pop(site, None)

    def _stopping(self) -> bool:
        if not self.crawler.crawling:  # Crawler.stop(): SIGTERM, Ctrl-C
            return True
        # Crawler._engine is the documented way to read a late attribute that may not be set
        # (None before the crawl starts). A spider closing for another reason than a shutdown
        # (CLOSESPIDER_TIMEOUT) leaves Crawler.crawling and ExecutionEngine.running on and sends
        # no signal before it waits for the requests in progress: its slot's `closing` Deferred
        # is the only sign, and without looking at it such a close would wait out the pause.
        engine = self.crawler._engine
        if engine is None:
            return False
        slot = getattr(engine, "_slot", None)
        return not engine.running or slot is None or getattr(slot, "closing", None) is not None

    def _inc(self, event: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"stdcrawl/retry_after/{event}", count)
