"""The walk policy: which list pages and articles a run fetches, and when a list walk is complete.

Pure, no Scrapy: the spider hands each list page it read (or failed to read)
to a :class:`Walk`, which says which articles to fetch and whether to fetch the
next page; every rule here has a unit test (``tests/test_walk.py``).

**A walk is complete only when its end is proven**: the pager's last page was
read, a page past the end answered 404, a page brought nothing the walk had
not seen (a site that repeats its last page for any page number), the
known-article stop (``STDCRAWL_KNOWN_STREAK`` known articles in a row), or the
``since`` date was reached. A page lost in the middle (a 5xx after its retries,
an empty or damaged page, a page with no entries, over the size cap,
redirected elsewhere) never ends a walk as if it were the end: when the pager
says more pages follow, the walk goes on past it and counts the list as
incomplete; otherwise the walk stops there, incomplete. A run whose walk was
not complete makes the next run walk every list to its end
(``Policy.incremental`` off), and the run fails its monitors.

**Articles**: an entry is fetched unless this run already routed its URL, or the
state store knows it and it needs no re-check (``fetch_again``: a full refresh,
a deleted article, or one published less than ``STDCRAWL_RECHECK_DAYS`` ago).
G1b and G2 entries are parked until every list is walked, then paired by title
(:func:`stdcrawl.stories.pair_twins`), so a story published twice is fetched as
one pair. ``since``/``until`` filter by the date in the URL (G1b URLs only carry
the month).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from stdcrawl import events
from stdcrawl.channels import Channel, is_labelled
from stdcrawl.extract.listing import ListEntry, Listing, NavLink
from stdcrawl.state.store import Known
from stdcrawl.stories import TWIN_GENERATIONS, pair_twins
from stdcrawl.urls import CANONICAL_BASE, ArticleURL, Generation, ListURL, parse_article_url, parse_list_url, url_key

# Ends of a list walk. Proven ends make a walk complete; the others do not.
PROVEN_ENDS = frozenset({"last_page", "past_end", "nothing_new", "known", "since"})
# The list page failures that mean "no page here": the list is over, unless the pager promised more.
NOT_THERE = frozenset({"http_404", "http_410"})


@dataclass(frozen=True, slots=True)
class Policy:
    """The run's walking rules, from its arguments and settings (see :mod:`stdcrawl.spiders.options`)."""

    incremental: bool  # stop paging at known articles: a scheduled run after a complete walk
    known_streak: int
    recheck: dt.timedelta
    now: dt.datetime
    max_pages: int
    since: dt.date | None = None
    until: dt.date | None = None
    full_refresh: bool = False

    def fetch_again(self, known: Known) -> bool:
        """A known article is fetched again only on a full refresh, when deleted, or while young (edits come early)."""
        if self.full_refresh or known.deleted:
            return True
        published = dt.datetime.fromisoformat(known.published_at) if known.published_at else None
        return published is not None and self.now - published < self.recheck


@dataclass(frozen=True, slots=True)
class Fetch:
    """An article to fetch; ``twin`` is its G1b twin when it was paired."""

    entry: ListEntry
    twin: ListEntry | None = None
    reason: str = "listed"  # listed | recheck | pending | recheck_unlisted


@dataclass(slots=True)
class Step:
    """What the walk decided about one list page."""

    fetch: list[Fetch] = field(default_factory=list)
    next_page: ListURL | None = None
    end: str | None = None  # why the list walk ended here (a key of PROVEN_ENDS, or "lost", "max_pages")
    lost: str | None = None  # why this page could not be read, when it was lost
    counts: dict[str, int] = field(default_factory=dict)  # stats counters (stdcrawl.events) to add

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


@dataclass(slots=True)
class ListWalk:
    """One list (a family and its folder or node id) as far as the walk got."""

    first: ListURL
    last_page: int | None = None  # the highest page number its pager linked
    streak: int = 0  # known articles in a row
    end: str | None = None
    lost: list[int] = field(default_factory=list)  # pages that could not be read
    listed: set[int] = field(default_factory=set)  # url_key of every entry its pages showed

    @property
    def complete(self) -> bool:
        return self.end in PROVEN_ENDS and not self.lost


class Walk:
    """The state of one run's walk; ``lookup`` finds an article the state store knows, by URL."""

    def __init__(self, policy: Policy, lookup: Callable[[str], Known | None]) -> None:
        self.policy = policy
        self.lookup = lookup
        self.lists: dict[tuple[str, str], ListWalk] = {}
        self.seen: set[int] = set()  # url_key of every article URL routed: fetched at most once
        self.parked: list[tuple[ArticleURL, ListEntry]] = []
        self.ready: list[Fetch] = []  # paired twins waiting for their batch
        self.lists_missing = 0  # lists that could not be found at all
        self.unlisted_done = False
        self.carried = 0  # article requests an earlier run of a resumable job left open

    def __getstate__(self) -> dict[str, object]:
        # Kept in a JOBDIR between the runs of a resumable job; the resumed run brings its own lookup.
        return {k: v for k, v in self.__dict__.items() if k != "lookup"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.lookup = lambda url: None

    # -- lists ------------------------------------------------------------------------------

    def start(self, first: ListURL) -> bool:
        """Begin walking a list; False when it is walked already (found on both homepages)."""
        key = (first.family, first.list_key)
        if key in self.lists:
            return False
        self.lists[key] = ListWalk(first)
        return True

    @property
    def families(self) -> set[str]:
        return {family for family, _ in self.lists}

    def page_read(self, page: ListURL, listing: Listing) -> Step:
        walk = self.lists[(page.family, page.list_key)]
        step = Step()
        if listing.pages:
            walk.last_page = max(walk.last_page or 0, *listing.pages)
        if not listing.entries:
            return self.page_failed(page, "no_entries")
        keys = {url_key(entry.url) for entry in listing.entries}
        if keys <= walk.listed:
            return self._end(walk, step, "nothing_new")  # a page seen before: past the end of a list that repeats
        walk.listed |= keys
        before_since = 0
        for entry in listing.entries:
            article = parse_article_url(entry.url)
            assert article is not None  # listings only hold article-shaped URLs
            if self.policy.since and last_day(article) < self.policy.since:
                step.count(events.ENTRIES_BEFORE_SINCE)
                before_since += 1
                continue
            if self.policy.until and article.date > self.policy.until:
                step.count(events.ENTRIES_AFTER_UNTIL)
                continue
            step.count(events.ENTRIES)
            if url_key(article.url) in self.seen:
                step.count(events.ENTRIES_DUPLICATE)
                continue
            known = self.lookup(article.url)
            walk.streak = walk.streak + 1 if known is not None else 0
            self._route(article, entry, known, step)
        if before_since == len(listing.entries):
            return self._end(walk, step, "since")
        if self.policy.incremental and walk.streak >= self.policy.known_streak:
            return self._end(walk, step, "known")
        if walk.last_page is not None and page.page >= walk.last_page:
            return self._end(walk, step, "last_page")
        return self._next(walk, page, step)

    def page_failed(self, page: ListURL, reason: str) -> Step:
        """A list page that could not be read (``reason``: ``http_500``, ``no_entries``, ``too_large``, ...)."""
        walk = self.lists[(page.family, page.list_key)]
        step = Step()
        promised = walk.last_page is not None and page.page <= walk.last_page
        if reason in NOT_THERE and page.page > 1 and not promised:
            return self._end(walk, step, "past_end")
        walk.lost.append(page.page)
        step.lost = reason
        if promised and page.page < (walk.last_page or 0):
            step.count(events.LIST_PAGE_SKIPPED)
            return self._next(walk, page, step)
        return self._end(walk, step, "lost")

    def _next(self, walk: ListWalk, page: ListURL, step: Step) -> Step:
        if page.page >= self.policy.max_pages:
            return self._end(walk, step, "max_pages")
        step.next_page = ListURL(page.page_url(page.page + 1), page.family, page.list_key, page.page + 1)
        return step

    @staticmethod
    def _end(walk: ListWalk, step: Step, end: str) -> Step:
        walk.end = end
        step.end = end
        return step

    # -- articles -------------------------------------------------------------------------

    def _route(self, article: ArticleURL, entry: ListEntry, known: Known | None, step: Step) -> None:
        self.seen.add(url_key(article.url))
        reason = "listed"
        if known is not None:
            if not self.policy.fetch_again(known):
                step.count(events.ENTRIES_KNOWN)
                return
            step.count(events.ENTRIES_RECHECK)
            reason = "recheck"
        if article.generation in TWIN_GENERATIONS:
            self.parked.append((article, entry))  # may have a twin in the other list
            return
        step.fetch.append(Fetch(entry, None, reason))

    def unlisted(self, pending: Iterable[tuple[str, str | None]], young: Iterable[Known]) -> tuple[list[Fetch], dict[str, int]]:
        """Once the lists are walked: articles earlier runs could not get, and young articles the lists did
        not show (removed, or past where paging stopped: gone ones become tombstones); a backfill of a date
        range (``since``/``until``) re-checks nothing outside its range."""
        if self.unlisted_done:
            return [], {}
        self.unlisted_done = True
        out: list[Fetch] = []
        counts: dict[str, int] = {}
        again = [(url, summary, "pending", events.ENTRIES_PENDING) for url, summary in pending]
        if not (self.policy.since or self.policy.until):
            again += [(known.url, known.summary, "recheck_unlisted", events.ENTRIES_RECHECK_UNLISTED) for known in young]
        for url, summary, reason, counter in again:
            if (key := url_key(url)) in self.seen:
                continue
            self.seen.add(key)
            counts[counter] = counts.get(counter, 0) + 1
            out.append(Fetch(ListEntry(url, "", summary), None, reason))
        return out, counts

    def release(self, batch: int) -> tuple[list[Fetch], int]:
        """Pair the parked entries (once the lists are walked), then release them ``batch`` at a time.
        Returns the fetches and how many pairs were made."""
        paired = 0
        if self.parked:
            for entry, twin in pair_twins(self.parked):
                paired += twin is not None
                self.ready.append(Fetch(entry, twin))
            self.parked.clear()
        out, self.ready = self.ready[:batch], self.ready[batch:]
        return out, paired

    # -- the whole walk ---------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Every list found and walked to its proven end, and every article routed."""
        return (
            bool(self.lists) and not self.lists_missing and all(w.complete for w in self.lists.values())
            and not self.parked and not self.ready
        )

    def incomplete(self) -> list[str]:
        """Why the walk is not complete, one phrase per list, for the log and the report."""
        out = [f"{self.lists_missing} list(s) not found"] if self.lists_missing else []
        for walk in self.lists.values():
            if walk.complete:
                continue
            name = f"the {walk.first.family} list {walk.first.list_key}"
            if walk.lost:
                out.append(f"{name} lost page(s) {', '.join(map(str, walk.lost))}")
            elif walk.end is None:
                out.append(f"{name} was not walked to its end")
            else:
                out.append(f"{name} stopped at {walk.end} without proving its end")
        if self.parked or self.ready:
            out.append(f"{len(self.parked) + len(self.ready)} twin entries not fetched")
        return out


def channel_lists(links: Iterable[NavLink], channel: Channel) -> list[ListURL]:
    """The channel's list pages among a homepage's navigation links, matched by the channel's printed name."""
    return [found for link in links if (found := parse_list_url(link.url)) and is_labelled(channel, link.label)]


def fallback_lists(channel: Channel, families: Iterable[str]) -> tuple[list[ListURL], bool]:
    """Lists of the families the navigation did not give, by their known folder or node id; and whether
    a family is left without any (no node id is known for it: the setting STDCRAWL_WEB_NODE_ID is)."""
    found = set(families)
    lists = []
    if "legacy" not in found and channel.legacy_folder:
        lists.append(ListURL(f"{CANONICAL_BASE}/English/{channel.legacy_folder}/common_list.shtml", "legacy", channel.legacy_folder, 1))
    missing = False
    if "web" not in found:
        if channel.web_node:
            lists.append(ListURL(f"{CANONICAL_BASE}/web/English/node_{channel.web_node}.html", "web", channel.web_node, 1))
        else:
            missing = True
    return lists, missing


def web_list(node: str) -> ListURL:
    return ListURL(f"{CANONICAL_BASE}/web/English/node_{node}.html", "web", node, 1)


def last_day(article: ArticleURL) -> dt.date:
    """The latest date an article URL allows: G1b URLs only carry the month."""
    if article.generation is not Generation.G1B:
        return article.date
    following = (article.date.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)
