"""Redirects that leave the site or come back to where they started fail their request.

Scrapy drops such a redirect when it is scheduled (the off-site filter, the
duplicate filter) without calling the errback, so the spider would never know
the article was lost. Placed above RedirectMiddleware, this middleware sees the
3xx response first and raises instead: the original request's
errback runs, the article becomes pending, and the run says so.
Counters: ``stdcrawl/redirect/offsite``, ``stdcrawl/redirect/loop``.
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urljoin, urlparse

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from w3lib.url import safe_url_string

REDIRECTS = frozenset((301, 302, 303, 307, 308))


class RedirectRefused(IgnoreRequest):
    """A redirect not followed; ``reason`` is ``redirect_offsite`` or ``redirect_loop``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RedirectGuardMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location") if response.status in REDIRECTS else None
        if not location or request.meta.get("dont_redirect"):
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1").strip()))
        if target in (*request.meta.get("redirect_urls", ()), request.url):
            self._refuse("redirect_loop", f"redirect loop: {request.url} leads back to {target}")
        if not request.meta.get("allow_offsite") and not self._on_site(target):
            self._refuse("redirect_offsite", f"redirect off the site: {request.url} -> {target}")
        return response

    def _on_site(self, url: str) -> bool:
        allowed = getattr(self.crawler.spider, "allowed_domains", None)
        if not allowed:
            return True
        host = (urlparse(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in (a.lower() for a in allowed))

    def _refuse(self, reason: str, message: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"stdcrawl/redirect/{reason.removeprefix('redirect_')}")
        raise RedirectRefused(reason, message)
