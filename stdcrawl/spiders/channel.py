"""Spiders of the English edition's channels: routing only, every byte read by ``extract``.

The walk: both homepages -> the channel's list pages, found in the navigation by
the channel's name -> every page of both list families (legacy ``common_list``
and ``/web/`` ``node_<id>``), newest first, to the end or to ``since`` -> the
articles, recognised by their URL shapes. Stories of 2022 - mid 2024 may be
listed twice (a G1b and a G2 URL): those entries wait until the lists are
walked, are paired by title, and the pair is fetched one after the other so
the two pages become one record when their content is the same.

Incremental by default: articles the state store knows are not fetched again,
except those published less than ``STDCRAWL_RECHECK_DAYS`` ago (edits come
early), and a list stops paging after ``STDCRAWL_KNOWN_STREAK`` known articles
in a row. A known article that now answers 404 or 410 becomes a tombstone.

Arguments (``-a``): ``channel`` (``stdaily`` spider only; name or slug),
``since`` / ``until`` (YYYY-MM-DD: backfill a date range, by the date in the
URL; G1b URLs only carry the month), ``full_refresh`` (true: fetch every
article again; only new or changed ones are exported). Settings:
``STDCRAWL_SITE_URL`` (send every request for a stdaily host to this base
instead, e.g. a replica), ``STDCRAWL_WEB_NODE_ID`` (the channel's ``/web/``
node id, when the navigation does not give it), ``STDCRAWL_NOW``.
Failures: every page that fails or is skipped is a log line and a
``stdcrawl/spider/...`` stats counter; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider, DontCloseSpider, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from stdcrawl.channels import CHANNELS, Channel, find_channel
from stdcrawl.dedupe import merge_twins, title_key
from stdcrawl.downloadermiddlewares.redirectguard import RedirectRefused
from stdcrawl.extract import NotAnArticle, damage, extract_article, extract_listing, extract_navigation
from stdcrawl.extract.listing import ListEntry
from stdcrawl.extensions.ledger import ExportLedger, utc_now
from stdcrawl.record import Article, Tombstone
from stdcrawl.state import Known, StateStore
from stdcrawl.urls import (
    CANONICAL_BASE,
    HOME_LEGACY,
    HOME_WEB,
    ArticleURL,
    Generation,
    ListURL,
    SiteMap,
    parse_article_url,
    parse_list_url,
    url_key,
)

PARKED_BATCH = 500  # twin pairs released per idle: the queue never holds them all at once
_TWIN_GENERATIONS = (Generation.G1B, Generation.G2)


def _stat(name: str) -> str:
    return f"stdcrawl/spider/{name}"


class StdailySpider(scrapy.Spider):
    """Crawl one channel of www.stdaily.com's English edition (``-a channel=NAME``)."""

    name = "stdaily"
    default_channel: str | None = None
    site: SiteMap
    web_node: str | None = None
    recheck: dt.timedelta
    known_streak: int
    now: dt.datetime
    walk_to_end = False  # the last run did not finish its walk: no stopping at known articles
    _ledger: ExportLedger | None = None

    def __init__(
        self,
        channel: str | None = None,
        since: str | None = None,
        until: str | None = None,
        full_refresh: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # A bad argument must not end in a traceback: it is reported and closes the
        # spider at start (finish reason "usage_error").
        self.usage_error: str | None = None
        self.channel = self._parse_channel(channel)
        self.channel_slug = self.channel.slug if self.channel else "none"  # feed URIs use %(channel_slug)s
        self.since = self._parse_date("since", since)
        self.until = self._parse_date("until", until)
        if self.since and self.until and self.since > self.until:
            self._bad_usage(f"since={self.since} is after until={self.until}")
        self.full_refresh = self._parse_flag("full_refresh", full_refresh)
        self.store: StateStore | None = None  # not `state`: Scrapy keeps a JOBDIR's spider state there
        self._rechecked = False
        self._streaks: dict[tuple[str, str], int] = {}
        self._lists_started: set[tuple[str, str]] = set()
        self._homes_pending = 2
        self._seen: set[int] = set()  # url_key of every article URL routed: fetched at most once
        self._parked: list[tuple[ArticleURL, ListEntry]] = []
        self._ready: list[tuple[ListEntry, ListEntry | None]] = []  # paired, waiting for their batch

    def _bad_usage(self, message: str) -> None:
        self.usage_error = self.usage_error or message

    def _parse_channel(self, value: str | None) -> Channel | None:
        names = ", ".join(c.name for c in CHANNELS)
        if self.default_channel and value and find_channel(value) != find_channel(self.default_channel):
            self._bad_usage(
                f"the {self.name!r} spider crawls {self.default_channel} only; "
                f"use `scrapy crawl stdaily -a channel={value}` for another channel"
            )
            return None
        value = value or self.default_channel
        if not value:
            self._bad_usage(f"missing -a channel=NAME; one of: {names}")
            return None
        channel = find_channel(value)
        if channel is None:
            self._bad_usage(f"unknown channel {value!r}; one of: {names}")
        return channel

    def _parse_date(self, name: str, value: str | None) -> dt.date | None:
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self._bad_usage(f"{name}={value!r} is not a date: expected YYYY-MM-DD")
            return None

    def _parse_flag(self, name: str, value: str | None) -> bool:
        if value is None or value.strip().lower() in ("", "0", "false", "no", "off"):
            return False
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        self._bad_usage(f"{name}={value!r}: expected true or false")
        return False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> StdailySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        try:
            spider.site = SiteMap(crawler.settings.get("STDCRAWL_SITE_URL") or "")
        except ValueError as exc:
            spider.site = SiteMap()
            spider._bad_usage(str(exc))
        spider.allowed_domains = [spider.site.host]
        settings = crawler.settings
        spider.web_node = str(settings.get("STDCRAWL_WEB_NODE_ID") or "").strip() or None
        if spider.web_node and not spider.web_node.isdigit():
            spider._bad_usage(f"STDCRAWL_WEB_NODE_ID must be a number, got {spider.web_node!r}")
        spider.recheck = dt.timedelta(days=settings.getfloat("STDCRAWL_RECHECK_DAYS", 3))
        spider.known_streak = settings.getint("STDCRAWL_KNOWN_STREAK", 10)
        spider.now = dt.datetime.now(dt.UTC)
        if now := settings.get("STDCRAWL_NOW"):
            try:
                spider.now = dt.datetime.fromisoformat(now)
                if spider.now.tzinfo is None:
                    raise ValueError
            except ValueError:
                spider._bad_usage(f"STDCRAWL_NOW={now!r} is not an ISO 8601 time with a UTC offset")
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    # -- requests -------------------------------------------------------------------------

    def _request(self, canonical: str, callback: Any, priority: int = 0, **cb_kwargs: Any) -> Request:
        return Request(
            self.site.fetch_url(canonical),
            callback=callback,
            errback=self._failed,
            cb_kwargs=cb_kwargs,
            priority=priority,
            meta={"canonical": canonical},
        )

    def _inc(self, name: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(_stat(name), count)

    def _sample(self, kind: str, url: str) -> None:
        """Keep a few URLs of a kind of trouble, for the run report (a person can open them)."""
        samples = self.crawler.stats.get_value(f"stdcrawl/samples/{kind}") or []
        if len(samples) < self.crawler.settings.getint("STDCRAWL_SAMPLE_URLS", 5):
            self.crawler.stats.set_value(f"stdcrawl/samples/{kind}", [*samples, url])

    async def start(self) -> AsyncIterator[Any]:
        for problem in self.crawler.settings.getlist("STDCRAWL_SETTINGS_ERRORS"):  # found by the add-on
            self._bad_usage(problem)
        if self.usage_error:
            self.logger.error("Bad usage: %s", self.usage_error)
            self._inc("usage_error")
            raise CloseSpider("usage_error")
        if isinstance(getattr(self, "state", None), dict):
            self._keep_walk_in(self.state)
        if ledger := self.crawler.get_extension(ExportLedger):
            self.store = ledger.store
            self._ledger = ledger
        if self.full_refresh or (self.store is not None and len(self.store) == 0):
            self.crawler.stats.set_value(_stat("full_run"), 1)  # every article fetched: comparable to earlier full runs
        elif self.store is not None and self._last_walk_unfinished():
            # Stopping at known articles assumes the older ones are known too: not after a run that
            # was stopped, killed or lost list pages. Walk the lists to their end, fetching what is new.
            self.logger.warning("The last run did not finish walking the lists: walking them to their end this time")
            self.crawler.stats.set_value(_stat("walk_resumed"), 1)
            self.walk_to_end = True
        if self.web_node:
            for request in self._start_list(ListURL(f"{CANONICAL_BASE}/web/English/node_{self.web_node}.html", "web", self.web_node, 1)):
                yield request
        for home in (HOME_LEGACY, HOME_WEB):
            yield self._request(CANONICAL_BASE + home, self.parse_home, priority=10)

    # -- homepages and lists --------------------------------------------------------------

    def parse_home(self, response: Response) -> Iterator[Request]:
        labels = {title_key(label) for label in self.channel.labels}
        for link in extract_navigation(response.text, response.meta["canonical"]):
            found = parse_list_url(link.url)
            if found and title_key(link.label) in labels:
                yield from self._start_list(found)
        yield from self._home_done()

    def _home_done(self) -> Iterator[Request]:
        self._homes_pending -= 1
        if self._homes_pending:
            return
        families = {family for family, _ in self._lists_started}
        folder = self.channel.legacy_folder
        if "legacy" not in families and folder:
            self.logger.warning("The homepages do not link the legacy list of %s; using its known folder %s", self.channel.name, folder)
            self._inc("lists/fallback")
            yield from self._start_list(ListURL(f"{CANONICAL_BASE}/English/{folder}/common_list.shtml", "legacy", folder, 1))
        if "web" not in families:
            if node := self.channel.web_node:
                self.logger.warning("The homepages do not link the /web/ list of %s; using its known node %s", self.channel.name, node)
                self._inc("lists/fallback")
                yield from self._start_list(ListURL(f"{CANONICAL_BASE}/web/English/node_{node}.html", "web", node, 1))
            else:
                self.logger.error(
                    "Could not find the /web/ list of %s in the homepages' navigation: G2/G3 articles "
                    "will be missing. Set STDCRAWL_WEB_NODE_ID to the channel's node id.",
                    self.channel.name,
                )
                self._inc("lists/not_found")

    def _start_list(self, first: ListURL) -> Iterator[Request]:
        key = (first.family, first.list_key)
        if key in self._lists_started:
            return
        self._lists_started.add(key)
        self.logger.info("Walking the %s list of %s from %s", first.family, self.channel.name, first.page_url(1))
        yield self._list_request(first, 1)

    def _list_request(self, lst: ListURL, page: int) -> Request:
        url = lst.page_url(page)
        return self._request(url, self.parse_list, page=ListURL(url, lst.family, lst.list_key, page))

    def parse_list(self, response: Response, page: ListURL) -> Iterator[Request]:
        listing = extract_listing(response.text, page.url)
        self._inc("lists/pages")
        self._inc("lists/offsite_links", listing.offsite_links)
        self._inc("lists/other_links", listing.other_links)
        self._inc("lists/duplicate_links", listing.duplicate_links)
        labels = {title_key(label) for label in self.channel.labels}
        if listing.section_label and title_key(listing.section_label) not in labels:
            self.logger.warning("List page %s is labelled %r, not %s", page.url, listing.section_label, self.channel.name)
            self._inc("lists/label_mismatch")
        if not listing.entries:
            self.logger.warning("List page %s has no article links", page.url)
            self._inc("lists/empty")
            if page.page == 1:  # a later page may just be past the end; a first one means the markup changed
                self._inc("lists/empty_first")
                self._sample("empty_list", page.url)
            return
        key = (page.family, page.list_key)
        before_since = 0
        for entry in listing.entries:
            article = parse_article_url(entry.url)
            assert article is not None  # listings only hold article-shaped URLs
            if self.since and _last_day(article) < self.since:
                self._inc("entries/before_since")
                before_since += 1
                continue
            if self.until and article.date > self.until:
                self._inc("entries/after_until")
                continue
            known = self._lookup(article.url)
            self._streaks[key] = self._streaks.get(key, 0) + 1 if known else 0
            yield from self._route(article, entry, known)
        if before_since == len(listing.entries):
            self.logger.info("The %s list of %s reaches %s at page %d: stop", page.family, self.channel.name, self.since, page.page)
        elif self._incremental and self._streaks.get(key, 0) >= self.known_streak:
            self.logger.info(
                "The %s list of %s: %d known articles in a row at page %d: stop", page.family, self.channel.name,
                self._streaks[key], page.page,
            )
            self._inc("lists/stopped_at_known")
        else:
            yield self._list_request(page, page.page + 1)

    def _last_walk_unfinished(self) -> bool:
        assert self.store is not None
        run_id = self.crawler.settings.get("STDCRAWL_RUN_ID")
        last = self.store.last_run_stats(self.name, self.channel.name if self.channel else None, run_id)
        return last is not None and not last.get(_stat("walk_complete"))

    def closed(self, reason: str) -> None:
        """The walk is complete when the run finished and no list page was lost: the next run may stop at known articles."""
        lost = sum(v for k, v in self.crawler.stats.get_stats().items() if k.startswith(_stat("failed/parse_list")))
        if reason == "finished" and not lost and not (self._parked or self._ready):
            self.crawler.stats.set_value(_stat("walk_complete"), 1)

    def _keep_walk_in(self, state: dict[str, Any]) -> None:
        """With a JOBDIR, Scrapy saves ``spider.state`` when it stops and loads it when the job resumes:
        keep there what the walk knows beyond its queued requests, the parked twins above all."""
        self._seen = state.setdefault("seen", self._seen)
        self._parked = state.setdefault("parked", self._parked)
        self._ready = state.setdefault("ready", self._ready)
        self._streaks = state.setdefault("streaks", self._streaks)
        self._lists_started = state.setdefault("lists_started", self._lists_started)

    @property
    def _incremental(self) -> bool:
        """Stop at known articles; a backfill range or a full refresh walks the lists to their end."""
        return self.store is not None and not (self.full_refresh or self.since or self.until or self.walk_to_end)

    def _fetch_again(self, known: Known) -> bool:
        if self.full_refresh or known.deleted:
            return True
        published = dt.datetime.fromisoformat(known.published_at) if known.published_at else None
        return published is not None and self.now - published < self.recheck

    def _route(self, article: ArticleURL, entry: ListEntry, known: Known | None) -> Iterator[Request]:
        self._inc("entries")
        if (key := url_key(article.url)) in self._seen:
            self._inc("entries/duplicate")
            return
        self._seen.add(key)
        if known is not None:
            if not self._fetch_again(known):
                self._inc("entries/known")
                return
            self._inc("entries/recheck")
        if article.generation in _TWIN_GENERATIONS:
            self._parked.append((article, entry))  # may have a twin in the other list
            return
        yield self._request(article.url, self.parse_article, entry=entry)

    def _on_idle(self) -> None:
        """The lists are walked: re-check young articles they no longer show, then pair and fetch the parked entries."""
        requests = self._recheck_unlisted() + self._unpark()
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def _recheck_unlisted(self) -> list[Request]:
        """Articles earlier runs could not get, and young articles the lists did not show
        (removed, or past where paging stopped: gone ones become tombstones)."""
        if self.store is None or self._rechecked or self.usage_error:
            return []
        self._rechecked = True
        again = [(url, summary, "entries/pending") for url, summary in self.store.pending(self.channel.name)]
        if self._incremental:
            young = self.store.published_since(self.channel.name, self.now - self.recheck)
            again += [(known.url, known.summary, "entries/recheck_unlisted") for known in young]
        requests = []
        for url, summary, stat in again:
            if (key := url_key(url)) in self._seen:
                continue
            self._seen.add(key)
            self._inc(stat)
            requests.append(self._request(url, self.parse_article, entry=ListEntry(url, "", summary)))
        return requests

    def _unpark(self) -> list[Request]:
        """Pair the parked entries once the lists are walked, then release them a batch per idle."""
        if self._parked:
            self._ready.extend(self._pair(self._parked))
            self._parked.clear()
        batch = self._ready[:PARKED_BATCH]
        del self._ready[:PARKED_BATCH]
        return [self._request(entry.url, self.parse_article, entry=entry, twin=twin) for entry, twin in batch]

    def _pair(self, parked: list[tuple[ArticleURL, ListEntry]]) -> list[tuple[ListEntry, ListEntry | None]]:
        """G2 entries with their G1b twin (same title) when there is one; G1b entries left alone."""
        legacy: dict[str, list[ListEntry]] = {}
        for article, entry in parked:
            if article.generation is Generation.G1B:
                legacy.setdefault(title_key(entry.title), []).append(entry)
        pairs: list[tuple[ListEntry, ListEntry | None]] = []
        for article, entry in parked:
            if article.generation is not Generation.G2:
                continue
            twins = legacy.get(title_key(entry.title))
            twin = twins.pop(0) if twins else None
            if twin is not None:
                self._inc("twins/paired")
            pairs.append((entry, twin))
        return pairs + [(entry, None) for entries in legacy.values() for entry in entries]

    # -- articles -------------------------------------------------------------------------

    def parse_article(self, response: Response, entry: ListEntry, twin: ListEntry | None = None) -> Iterator[Any]:
        if retry := self._retry_if_damaged(response):
            yield retry
            return
        article = self._read(response, entry, pending=twin is None)
        if twin is None:
            if article:
                yield article
            return
        if article is None:
            yield self._request(twin.url, self.parse_article, entry=twin)
            return
        yield self._request(twin.url, self.parse_twin, entry=twin, first=article)

    def parse_twin(self, response: Response, entry: ListEntry, first: Article) -> Iterator[Any]:
        if retry := self._retry_if_damaged(response):
            yield retry
            return
        second = self._read(response, entry, pending=False)  # the first page is the story
        records = merge_twins(first, second) if second else [first]
        if second:
            self._inc("twins/merged" if len(records) == 1 else "twins/differ")
            if len(records) == 2:
                self.logger.warning("Twin pages %s and %s have different content: both kept", first.url, second.url)
        yield from records

    def _retry_if_damaged(self, response: Response) -> Request | None:
        """An empty or cut-off 200 is a server hiccup: retried like a 503, within Scrapy's retry budget.
        When the budget is spent, extraction refuses the page and it stays pending."""
        kind = damage(response.body)
        if kind is None:
            return None
        self._inc(f"articles/damaged/{kind}")
        return get_retry_request(response.request, spider=self, reason=f"damaged_{kind}")

    def _fail(self, url: str, entry: ListEntry | None, reason: str) -> None:
        """An article this run could not get: pending for the next run, never marked done."""
        if self._ledger is not None and self.channel is not None:
            self._ledger.failed(url, self.channel.name, entry.summary if entry else None, reason)
            self._sample("pending", url)

    def _read(self, response: Response, entry: ListEntry, *, pending: bool = True) -> Article | None:
        url = response.meta["canonical"]
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        try:
            article = extract_article(response.body, url, content_type=content_type)
        except NotAnArticle as exc:
            self.logger.warning("Not an article: %s (%s)", url, exc)
            self._inc("articles/not_article")
            self._sample("not_article", url)
            if pending:
                self._fail(url, entry, f"not an article: {exc}")
            return None
        found = find_channel(article.channel) if article.channel else None
        if found is not None and found != self.channel:
            self.logger.info("Skipping %s: it belongs to %s, not %s", url, found.name, self.channel.name)
            self._inc("articles/other_channel")
            return None
        if article.channel and found is None:
            self.logger.warning("Unknown section label %r on %s", article.section_label, url)
            self._inc("articles/unknown_label")
        self._inc("articles/extracted")
        path = article.parser.rsplit("/", 1)[-1]
        self._inc(f"articles/path/{path}")
        if path == "text":
            self._sample("text_fallback", url)
        article.channel = self.channel.name
        article.fetched_url = response.url
        article.summary = entry.summary
        article.crawled_at = utc_now()
        return article

    # -- failures -------------------------------------------------------------------------

    def _failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        canonical = request.meta.get("canonical", request.url)
        callback = getattr(request.callback, "__name__", "")
        message = str(failure.value).lower()
        if failure.check(HttpError):
            status = failure.value.response.status
            reason = f"http_{status}"
        elif failure.check(RedirectRefused):
            reason = failure.value.reason
        elif "max size" in message or "maxsize" in message:  # DOWNLOAD_MAXSIZE, announced or reached inflating
            reason = "too_large"
        elif failure.check(IgnoreRequest):
            reason = "robots_txt" if "robots" in message else "ignored"
        else:
            reason = failure.type.__name__ if failure.type else "error"
        page = request.cb_kwargs.get("page")
        if callback == "parse_list" and reason == "http_404" and page and page.page > 1:
            self.logger.info("The %s list of %s ends at page %d", page.family, self.channel.name, page.page - 1)
            self._inc("lists/end")
            return
        if callback == "parse_list" and reason == "robots_txt":
            self.logger.error("robots.txt forbids the list page %s: obeyed, so its articles are not crawled", canonical)
        level = logging.INFO if reason == "robots_txt" else logging.WARNING if callback == "parse_article" else logging.ERROR
        self.logger.log(level, "Failed to fetch %s (%s): %s", canonical, callback, reason)
        self._inc(f"failed/{callback or 'unknown'}/{reason}")
        if callback == "parse_home":
            yield from self._home_done()
        elif callback == "parse_twin":
            yield request.cb_kwargs["first"]  # the twin is gone: the first page is still the story
        elif callback == "parse_article":
            if twin := request.cb_kwargs.get("twin"):
                # The twin stands for the story; were this page pending, a later run could export it twice.
                yield self._request(twin.url, self.parse_article, entry=twin)
            elif reason in ("http_404", "http_410") and (known := self._lookup(canonical)) is not None:
                if not known.deleted:  # a known article is gone: the lake must hide it
                    yield Tombstone(
                        known.id, known.url, list(known.aliases), self.channel.name, int(reason[5:]), utc_now(),
                        known.revision + 1, known.content_hash,
                    )
            elif reason != "robots_txt":
                self._fail(canonical, request.cb_kwargs.get("entry"), reason)


    def _lookup(self, url: str) -> Known | None:
        return self.store.lookup(url) if self.store else None


def _last_day(article: ArticleURL) -> dt.date:
    """The latest date an article URL allows: G1b URLs only carry the month."""
    if article.generation is not Generation.G1B:
        return article.date
    following = (article.date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


class CooperationSpider(StdailySpider):
    """The International Cooperation channel (printed "Cooperation" today): the default crawl."""

    name = "cooperation"
    default_channel = "Cooperation"
