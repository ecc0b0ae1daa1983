"""Spiders of the English edition's channels: routing only.

The walk, in docs/site.md's order: both homepages -> the channel's list pages,
found in the navigation by the channel's name -> every page of both list
families (legacy ``common_list`` and ``/web/`` ``node_<id>``), newest first ->
the articles, recognised by their URL shapes. Each page kind has its callback
and its errback; what the walk does next is decided by :mod:`stdcrawl.walk`,
why a request failed by :mod:`stdcrawl.failures`, what a page says by
:mod:`stdcrawl.extract` (run by :mod:`stdcrawl.readers`, in worker processes
by default), whether two pages are one story by
:mod:`stdcrawl.stories`. Arguments and settings: :mod:`stdcrawl.spiders.options`.

Every article request ends in exactly one place: an item (then exported,
unchanged or a duplicate of another record, decided by the pipelines), a
bare tombstone (a 404 or 410: the state pipeline knows whether it was
exported), pending (the state store remembers it and the next run fetches it
again), or an expected skip (another channel's article, a page robots.txt
forbids). Each is a log line and a ``stdcrawl/spider/...`` counter
(:mod:`stdcrawl.events`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from stdcrawl import events, failures
from stdcrawl.channels import Channel, find_channel, is_labelled
from stdcrawl.clock import utc_now
from stdcrawl.events import Page
from stdcrawl.downloadermiddlewares.archive import ARCHIVED
from stdcrawl.downloadermiddlewares.damaged import DAMAGED
from stdcrawl.extract import NotAnArticle, extract_navigation
from stdcrawl.extract.listing import ListEntry
from stdcrawl.readers import ReaderCrashed, Readers
from stdcrawl.record import Article, Tombstone
from stdcrawl.spiders.options import CrawlOptions, UsageError, parse
from stdcrawl.state.ledger import ExportLedger
from stdcrawl.stories import merge_twins
from stdcrawl.urls import CANONICAL_BASE, HOME_LEGACY, HOME_WEB, ListURL, url_key
from stdcrawl.walk import Fetch, Policy, Step, Walk, channel_lists, fallback_lists, web_list

PARKED_BATCH = 500  # twin pairs released per idle: the queue never holds them all at once
PERMANENT = frozenset({301, 308})  # a redirect that says the requested URL is another name of the page
EXTRACTION_CRASHED = "extraction_crashed"  # the page killed an extraction worker twice (stdcrawl.readers)


class StdailySpider(scrapy.Spider):
    """Crawl one channel of www.stdaily.com's English edition (``-a channel=NAME``)."""

    name = "stdaily"
    default_channel: str | None = None
    options: CrawlOptions
    walk: Walk
    readers: Readers

    def __init__(self, **args: Any) -> None:
        super().__init__()  # not **args: Scrapy would set each argument as an attribute (-a name=... renames the spider)
        self.args = args
        self.usage_error: str | None = None
        self.channel: Channel | None = None
        self.channel_slug = "none"  # feed URIs may use %(channel_slug)s
        self._ledger: ExportLedger | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> StdailySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        problems = crawler.settings.getlist("STDCRAWL_SETTINGS_ERRORS")  # found by the add-on
        try:
            spider.options = parse(spider.name, spider.default_channel, spider.args, crawler.settings)
            spider.channel, spider.channel_slug = spider.options.channel, spider.options.channel.slug
            spider.allowed_domains = [spider.options.site.host]  # type: ignore[attr-defined]  # Scrapy reads it if set
        except UsageError as exc:
            spider.usage_error = str(exc)
        if problems:
            spider.usage_error = problems[0]
        settings = crawler.settings
        spider.readers = Readers(settings.getint("STDCRAWL_EXTRACT_WORKERS"), died=spider._worker_died,
                                 gc_threshold=settings.getint("STDCRAWL_GC_THRESHOLD"))
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    def _worker_died(self, why: str) -> None:
        self._inc(events.EXTRACT_WORKER_DIED)

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.usage_error:
            self.logger.error("Bad usage: %s", self.usage_error)
            self._inc(events.USAGE_ERROR)
            raise CloseSpider("usage_error")
        self._ledger = self.crawler.get_extension(ExportLedger)
        store = self._ledger.store if self._ledger else None
        opts = self.options
        walk_to_end = False
        if opts.full_refresh or (store is not None and len(store) == 0):
            self._inc(events.FULL_RUN)  # every article fetched: comparable to earlier full runs
        elif store is not None:
            last = store.last_run(self.name, opts.channel.name, self.crawler.settings.get("STDCRAWL_RUN_ID"))
            if last is not None and not last.walk_complete:
                # Stopping at known articles assumes the older ones are known too: not after a run that was
                # stopped, killed or lost list pages. Walk the lists to their end, fetching what is new.
                self.logger.warning("The last run did not finish walking the lists: walking them to their end this time")
                self._inc(events.WALK_RESUMED)
                walk_to_end = True
        policy = Policy(
            incremental=store is not None and not (opts.full_refresh or opts.since or opts.until or walk_to_end),
            known_streak=opts.known_streak, recheck=opts.recheck, now=opts.now, max_pages=opts.max_list_pages,
            since=opts.since, until=opts.until, full_refresh=opts.full_refresh,
        )
        self.walk = self._resumed_walk(policy) or Walk(policy, self._lookup)
        if opts.web_node:
            for request in self._start_list(web_list(opts.web_node)):
                yield request
        self._homes_pending = 2
        for home in (HOME_LEGACY, HOME_WEB):
            yield self._get(CANONICAL_BASE + home, self.parse_home, self.home_failed, priority=10)

    def _resumed_walk(self, policy: Policy) -> Walk | None:
        """With a JOBDIR, Scrapy saves ``spider.state`` when it stops and loads it when the job resumes:
        the walk (what was routed, the parked twins, how far each list got) lives there."""
        state = getattr(self, "state", None)
        if not isinstance(state, dict):
            return None
        walk = state.get("walk")
        if isinstance(walk, Walk):
            walk.policy, walk.lookup = policy, self._lookup
            return walk
        state["walk"] = walk = Walk(policy, self._lookup)
        return walk

    # -- requests ------------------------------------------------------------------------------

    def _get(self, canonical: str, callback: Any, errback: Any, *, priority: int = 0, meta: dict[str, Any] | None = None,
             **cb_kwargs: Any) -> Request:
        # dont_filter: the walk never asks for a URL twice, and Scrapy's duplicate filter would drop a
        # redirect to a page already fetched without calling the errback: a story lost silently.
        return Request(
            self.options.site.fetch_url(canonical), callback=callback, errback=errback, cb_kwargs=cb_kwargs,
            priority=priority, meta={"canonical": canonical, **(meta or {})}, dont_filter=True,
        )

    def _article(self, fetch: Fetch) -> Request:
        self._inc(events.ARTICLES_REQUESTED)
        return self._get(fetch.entry.url, self.parse_article, self.article_failed, entry=fetch.entry, twin=fetch.twin)

    def _inc(self, name: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(name, count)

    def _sample(self, kind: str, url: str) -> None:
        """Keep a few URLs of a kind of trouble, for the run report (a person can open them)."""
        samples = self.crawler.stats.get_value(events.samples(kind)) or []
        if len(samples) < self.options.sample_urls:
            self.crawler.stats.set_value(events.samples(kind), [*samples, url])

    def _lookup(self, url: str) -> Any:
        store = self._ledger.store if self._ledger else None
        return store.lookup(url) if store is not None else None

    # -- homepages -------------------------------------------------------------------------------

    def parse_home(self, response: Response) -> Iterator[Request]:
        links = extract_navigation(response.body, response.meta["canonical"], content_type=_content_type(response))
        for first in channel_lists(links, self.options.channel):
            yield from self._start_list(first)
        yield from self._home_done()

    def home_failed(self, failure: Failure) -> Iterator[Request]:
        reason = failures.reason(failure)
        self.logger.error("Failed to fetch the homepage %s: %s", _request(failure).meta["canonical"], reason)
        self._inc(events.failed(Page.HOME, reason))
        yield from self._home_done()

    def _home_done(self) -> Iterator[Request]:
        """Both homepages are read: a list their navigation does not link is found by its known address."""
        self._homes_pending -= 1
        if self._homes_pending:
            return
        channel = self.options.channel
        lists, missing = fallback_lists(channel, self.walk.families)
        for first in lists:
            self.logger.warning("The homepages do not link the %s list of %s; using its known address %s", first.family,
                                channel.name, first.url)
            self._inc(events.LISTS_FALLBACK)
            yield from self._start_list(first)
        if missing:
            self.logger.error(
                "Could not find the /web/ list of %s in the homepages' navigation: G2/G3 articles "
                "will be missing. Set STDCRAWL_WEB_NODE_ID to the channel's node id.", channel.name,
            )
            self._inc(events.LISTS_NOT_FOUND)
            self.walk.lists_missing += 1

    # -- lists ------------------------------------------------------------------------------------

    def _start_list(self, first: ListURL) -> Iterator[Request]:
        if self.walk.start(first):
            self.logger.info("Walking the %s list of %s from %s", first.family, self.options.channel.name, first.page_url(1))
            yield self._list(first)

    def _list(self, page: ListURL) -> Request:
        # A list page that redirects (to the homepage, say) is a lost page, not a list: not followed.
        return self._get(page.url, self.parse_list, self.list_failed, meta={"dont_redirect": True}, page=page)

    async def parse_list(self, response: Response, page: ListURL) -> AsyncIterator[Request]:
        if kind := response.meta.get(DAMAGED):  # its retries spent (DamagedPageMiddleware)
            self._inc(events.failed(Page.LIST, f"damaged_{kind}"))
            for request in self._step(page, self.walk.page_failed(page, f"damaged_{kind}")):
                yield request
            return
        try:
            listing = await self.readers.listing(response.body, page.url, _content_type(response))
        except ReaderCrashed as exc:
            self.logger.warning("List page %s not read: %s", page.url, exc)
            self._inc(events.failed(Page.LIST, EXTRACTION_CRASHED))
            for request in self._step(page, self.walk.page_failed(page, EXTRACTION_CRASHED)):
                yield request
            return
        self._inc(events.LIST_PAGES)
        self._inc(events.LIST_OFFSITE_LINKS, listing.offsite_links)
        self._inc(events.LIST_OTHER_LINKS, listing.other_links)
        self._inc(events.LIST_DUPLICATE_LINKS, listing.duplicate_links)
        if listing.section_label and not is_labelled(self.options.channel, listing.section_label):
            self.logger.warning("List page %s is labelled %r, not %s", page.url, listing.section_label, self.options.channel.name)
            self._inc(events.LIST_LABEL_MISMATCH)
        if not listing.entries:
            self.logger.warning("List page %s has no article links", page.url)
            self._inc(events.LIST_EMPTY)
            if page.page == 1:  # a first page without links means the markup changed
                self._inc(events.LIST_EMPTY_FIRST)
                self._sample("empty_list", page.url)
        for request in self._step(page, self.walk.page_read(page, listing)):
            yield request

    def list_failed(self, failure: Failure) -> Iterator[Request]:
        page: ListURL = _request(failure).cb_kwargs["page"]
        reason = failures.reason(failure)
        self._inc(events.failed(Page.LIST, reason))
        if reason == "robots_txt":
            self.logger.error("robots.txt forbids the list page %s: obeyed, so its articles are not crawled", page.url)
        yield from self._step(page, self.walk.page_failed(page, reason))

    def _step(self, page: ListURL, step: Step) -> Iterator[Request]:
        for name, count in step.counts.items():
            self._inc(name, count)
        for fetch in step.fetch:
            yield self._article(fetch)
        name = f"the {page.family} list of {self.options.channel.name}"
        if step.lost:
            self.logger.warning("Lost page %d of %s (%s)%s", page.page, name, step.lost,
                                "; going on past it" if step.next_page else "; its end is not proven")
            self._sample("lost_list_page", page.url)
        if step.next_page is not None:
            yield self._list(step.next_page)
            return
        if step.end in ("last_page", "past_end", "nothing_new"):
            self.logger.info("%s ends at page %d", name[0].upper() + name[1:], page.page - (step.end == "past_end"))
            self._inc(events.LIST_END)
        elif step.end == "known":
            self.logger.info("%s: %d known articles in a row at page %d: stop", name, self.options.known_streak, page.page)
            self._inc(events.LIST_STOPPED_AT_KNOWN)
        elif step.end == "since":
            self.logger.info("%s reaches %s at page %d: stop", name, self.options.since, page.page)
            self._inc(events.LIST_STOPPED_AT_SINCE)
        else:
            self.logger.warning("%s stopped at page %d without proving its end (%s): the next run walks it to its end",
                                name[0].upper() + name[1:], page.page, step.end)
            self._inc(events.LIST_INCOMPLETE)

    # -- once the lists are walked ----------------------------------------------------------------

    def _on_idle(self) -> None:
        """Re-check young articles the lists no longer show and pending ones, then fetch the parked twins."""
        if self.usage_error or not hasattr(self, "walk"):
            return
        requests: list[Request] = []
        store = self._ledger.store if self._ledger else None
        if store is not None and not self.walk.unlisted_done:
            young = store.published_since(self.options.channel.name, self.options.now - self.options.recheck)
            fetches, counts = self.walk.unlisted(store.pending(self.options.channel.name), young)
            for name, count in counts.items():
                self._inc(name, count)
            requests += [self._article(f) for f in fetches]
        batch, paired = self.walk.release(PARKED_BATCH)
        self._inc(events.TWINS_PAIRED, paired)
        requests += [self._article(f) for f in batch]
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def closed(self, reason: str) -> None:
        self.readers.close()
        if self.usage_error or not hasattr(self, "walk"):
            return
        stats = self.crawler.stats
        ended = sum(v for k, v in stats.get_stats().items() if k.startswith(events.OUTCOME_PREFIX))
        # A resumed job (JOBDIR) ends requests an earlier run of the job made: the walk carries their count.
        open_requests = stats.get_value(events.ARTICLES_REQUESTED, 0) + self.walk.carried - ended
        self.walk.carried = open_requests
        lost = open_requests if reason == "finished" else 0
        if lost:
            # Scrapy dropped requests without calling back (a filter, a bug): they must not vanish quietly.
            self.logger.error("%d article request(s) ended nowhere: neither read, pending, gone nor skipped", lost)
            stats.set_value(events.ARTICLES_UNACCOUNTED, lost)
        complete = reason == "finished" and self.walk.complete and not lost
        if self._ledger is not None:
            self._ledger.walk_complete = complete
        if not complete and reason == "finished":
            for why in self.walk.incomplete():
                self.logger.warning("The walk is not complete: %s; the next run walks the lists to their end", why)
            self.crawler.stats.set_value(events.WALK_INCOMPLETE, self.walk.incomplete())

    # -- articles ----------------------------------------------------------------------------------

    async def parse_article(self, response: Response, entry: ListEntry, twin: ListEntry | None = None) -> AsyncIterator[Any]:
        article = await self._read(response, entry)
        if twin is None:
            if article is not None:
                yield article
            return
        if article is None:  # this page did not read; its twin may still carry the story
            yield self._article(Fetch(twin))
            return
        self._inc(events.ARTICLES_REQUESTED)
        yield self._get(twin.url, self.parse_twin, self.twin_failed, entry=twin, first=article)

    async def parse_twin(self, response: Response, entry: ListEntry, first: Article) -> AsyncIterator[Any]:
        second = await self._read(response, entry, pending=False)  # the first page is the story already
        records = merge_twins(first, second) if second else [first]
        if second:
            self._inc(events.TWINS_MERGED if len(records) == 1 else events.TWINS_DIFFER)
            if len(records) == 2:
                self.logger.warning("Twin pages %s and %s have different content: both kept", first.url, second.url)
        for record in records:
            yield record

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        request = _request(failure)
        canonical, reason = request.meta["canonical"], failures.reason(failure)
        self._inc(events.failed(Page.ARTICLE, reason))
        if reason == "robots_txt":
            self.logger.info("Not fetching %s: robots.txt forbids it", canonical)
            self._outcome("skipped")
            return
        if reason in failures.GONE:
            # A bare tombstone: the state pipeline knows whether this article was ever exported.
            self.logger.info("%s answers %s", canonical, reason)
            self._outcome("gone")
            yield Tombstone("", canonical, [], self.options.channel.name, failures.status(reason) or 404, utc_now(),
                            run_id=self.crawler.settings.get("STDCRAWL_RUN_ID"))
        else:
            self.logger.warning("Failed to fetch the article %s: %s", canonical, reason)
            self._pending(canonical, request.cb_kwargs.get("entry"), reason)
        if twin := request.cb_kwargs.get("twin"):
            yield self._article(Fetch(twin))  # the twin may still carry the story

    def twin_failed(self, failure: Failure) -> Iterator[Any]:
        reason = failures.reason(failure)
        self._inc(events.failed(Page.ARTICLE, reason))
        self.logger.info("The twin page %s failed (%s): its story is read from %s", _request(failure).meta["canonical"],
                         reason, _request(failure).cb_kwargs["first"].url)
        self._outcome("merged")
        yield _request(failure).cb_kwargs["first"]

    def _outcome(self, outcome: str) -> None:
        """How one article request ended: read, pending, gone, skipped, or merged (its twin carries the story)."""
        self._inc(events.OUTCOME_PREFIX + outcome)

    def _unread(self, url: str, entry: ListEntry | None, reason: str, pending: bool) -> None:
        if pending:
            self._pending(url, entry, reason)
        else:
            self._outcome("merged")  # a twin's second page: the first carries the story

    def _pending(self, url: str, entry: ListEntry | None, reason: str) -> None:
        """An article this run could not get: pending for the next run, never marked done."""
        if self._ledger is not None:
            self._ledger.failed(url, self.options.channel.name, entry.summary if entry else None, reason)
        self._sample("pending", url)
        self._outcome("pending")

    async def _read(self, response: Response, entry: ListEntry, *, pending: bool = True) -> Article | None:
        requested = response.meta["canonical"]
        if kind := response.meta.get(DAMAGED):  # its retries spent: never exported as a whole page
            self.logger.warning("The article %s stayed damaged (%s) after its retries", requested, kind)
            self._inc(events.failed(Page.ARTICLE, f"damaged_{kind}"))
            self._unread(requested, entry, f"damaged_{kind}", pending)
            return None
        url = self.options.site.canonical(response.url) or requested
        summary = entry.summary
        permanent = response.meta.get("redirect_reasons", [None])[-1] in PERMANENT
        if url != requested:
            self._inc(events.ARTICLES_REDIRECTED)
        if url != requested and not permanent:
            # A temporary redirect does not say where the requested story is: fetched again next run.
            self.logger.warning("%s redirects for now to %s; %s is fetched again next run", requested, url, requested)
            if pending and self._ledger is not None:
                self._ledger.failed(requested, self.options.channel.name, entry.summary, "redirect_temporary")
                self._sample("pending", requested)
            if not pending or url_key(url) in self.walk.seen:  # that page is read by its own request
                self._outcome("pending" if pending else "merged")
                return None
            self.walk.seen.add(url_key(url))
            summary = None  # the list's summary is the requested story's
        try:
            article = await self.readers.article(response.body, url, _content_type(response))
        except ReaderCrashed as exc:
            self.logger.warning("Article %s not read: %s", url, exc)
            self._inc(events.failed(Page.ARTICLE, EXTRACTION_CRASHED))
            self._unread(requested, entry, EXTRACTION_CRASHED, pending)
            return None
        except NotAnArticle as exc:
            self.logger.warning("Not an article: %s (%s)", url, exc)
            self._inc(events.ARTICLES_NOT_ARTICLE)
            self._sample("not_article", url)
            self._unread(requested, entry, f"not an article: {exc}", pending)
            return None
        channel = self.options.channel
        if article.section_label and not is_labelled(channel, article.section_label):
            if (other := find_channel(article.section_label)) is not None:
                self.logger.info("Skipping %s: it belongs to %s, not %s", url, other.name, channel.name)
                self._inc(events.ARTICLES_OTHER_CHANNEL)
                self._outcome("skipped")
                return None
            self.logger.warning("Unknown section label %r on %s", article.section_label, url)
            self._inc(events.ARTICLES_UNKNOWN_LABEL)
        self._inc(events.ARTICLES_EXTRACTED)
        self._outcome("read")
        path = article.parser.rsplit("/", 1)[-1]
        self._inc(events.article_path(path))
        if article.template:
            self._inc(events.template(article.template))
            self._sample(f"template/{article.template}", url)
        if article.replacement_chars:
            self._inc(events.ARTICLES_CHARSET_DAMAGE)
            self._sample("replacement_chars", url)
        if url != requested and permanent:
            article.aliases = [requested]  # the list's link is another name of this page
        article.channel = channel.name
        article.fetched_url = response.url
        article.summary = summary
        article.crawled_at = utc_now()
        article.run_id = self.crawler.settings.get("STDCRAWL_RUN_ID")
        if (archived := response.meta.get(ARCHIVED)) is not None:  # where the page's bytes are kept (WARC)
            article.provenance = [archived.provenance()]
        return article


def _request(failure: Failure) -> Request:
    """The request an errback's failure belongs to (Scrapy sets it on the failure)."""
    return failure.request  # type: ignore[attr-defined]


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None


class CooperationSpider(StdailySpider):
    """The International Cooperation channel (printed "Cooperation" today): the default crawl."""

    name = "cooperation"
    default_channel = "Cooperation"
