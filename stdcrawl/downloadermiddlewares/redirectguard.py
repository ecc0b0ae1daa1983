"""Redirects stay within the site: followed there, refused anywhere else, and never lost.

The site answers on several hosts (``www.stdaily.com``, ``stdaily.com``,
``m.stdaily.com``, over http and https: docs/site.md). A redirect to any of them is
followed *within the site*, as it is (the site knows its own canonical host);
when ``STDCRAWL_SITE_URL`` sends requests to a replica, the Location is
rewritten to the same path there, so the crawl never leaves it. A redirect to any other host, or back to where it started
(a loop), fails its request instead (``RedirectRefused``): Scrapy would drop
such a redirect when it is scheduled (the off-site filter, the duplicate
filter) without calling the errback, so the spider would never know the
article was lost; this way the original request's errback runs, the article
becomes pending, and the run says so. A ``<meta http-equiv="refresh">`` page
is a redirect too, under the same rules (Scrapy's MetaRefreshMiddleware is off:
it would follow one off the site). The page that finally answers keeps its
``redirect_urls`` and ``redirect_reasons`` (the status, or ``meta refresh``),
so the spider can tell a moved page (301/308: the requested URL is another
name of the page) from a temporary redirect.

Placed above RedirectMiddleware (600): it sees a 3xx response before a
redirect is built from it. Counters: ``stdcrawl/redirect/offsite``,
``stdcrawl/redirect/loop``, ``stdcrawl/redirect/within_site``,
``stdcrawl/redirect/meta_refresh``.
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urljoin

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh
from w3lib.url import safe_url_string

from stdcrawl import events
from stdcrawl.urls import SiteMap

REDIRECTS = frozenset((301, 302, 303, 307, 308))


class RedirectRefused(IgnoreRequest):
    """A redirect not followed; ``reason`` is ``redirect_offsite`` or ``redirect_loop``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RedirectGuardMiddleware:
    def __init__(self, crawler: Crawler, site: SiteMap, max_redirects: int, max_refresh_delay: float) -> None:
        self.crawler = crawler
        self.site = site
        self.max_redirects = max_redirects
        self.max_refresh_delay = max_refresh_delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        try:
            site = SiteMap(settings.get("STDCRAWL_SITE_URL") or "")
        except ValueError:
            site = SiteMap()  # bad usage: the spider says so and closes before any request
        return cls(crawler, site, settings.getint("REDIRECT_MAX_TIMES"), settings.getfloat("METAREFRESH_MAXDELAY"))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_redirect"):
            return response
        if response.status in REDIRECTS and (location := response.headers.get(b"Location")):
            given = urljoin(request.url, safe_url_string(location.decode("latin-1").strip()))
            target = self._checked(request, given)
            if target == given:
                return response
            self._count("within_site")
            headers = response.headers.copy()
            headers[b"Location"] = target.encode()
            return response.replace(headers=headers)
        if isinstance(response, HtmlResponse) and b"refresh" in response.body[:8192].lower():
            delay, url = get_meta_refresh(response)
            if url is not None and delay is not None and delay <= self.max_refresh_delay:
                return self._refresh(request, self._checked(request, url))
        return response

    def _checked(self, request: Request, location: str) -> str:
        """The URL to follow, on the site (through ``STDCRAWL_SITE_URL``); raises for a loop or another host."""
        target = urljoin(request.url, safe_url_string(location))
        if self.site.on_site(target):
            canonical = self.site.canonical(target) if self.site.base else None
            if canonical is not None:  # through STDCRAWL_SITE_URL: the same page there
                target = self.site.fetch_url(canonical)
        else:
            self._refuse("redirect_offsite", f"redirect off the site: {request.url} -> {target}")
        if target in (*request.meta.get("redirect_urls", ()), request.url):
            self._refuse("redirect_loop", f"redirect loop: {request.url} leads back to {target}")
        return target

    def _refresh(self, request: Request, target: str) -> Request:
        """Follow a meta refresh as RedirectMiddleware follows a 302, keeping the same bookkeeping."""
        self._count("meta_refresh")
        times = request.meta.get("redirect_times", 0) + 1
        if times > self.max_redirects:
            raise IgnoreRequest(f"max redirections reached: {request.url}")
        redirected = request.replace(url=target, method="GET", body=b"")
        redirected.meta["redirect_times"] = times
        redirected.meta["redirect_urls"] = [*request.meta.get("redirect_urls", []), request.url]
        redirected.meta["redirect_reasons"] = [*request.meta.get("redirect_reasons", []), "meta refresh"]
        redirected.priority = request.priority + self.crawler.settings.getint("REDIRECT_PRIORITY_ADJUST")
        return redirected

    def _count(self, event: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(events.REDIRECT_PREFIX + event)

    def _refuse(self, reason: str, message: str) -> None:
        self._count(reason.removeprefix("redirect_"))
        raise RedirectRefused(reason, message)
