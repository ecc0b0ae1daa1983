"""The walk policy on its own: which pages and articles a run fetches, and when a walk is complete."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable

import pytest

from stdcrawl.extract.listing import ListEntry, Listing
from stdcrawl.state.store import Known
from stdcrawl.urls import CANONICAL_BASE, ListURL
from stdcrawl.walk import Fetch, Policy, Walk

NOW = dt.datetime(2026, 11, 20, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
FIRST = ListURL(f"{CANONICAL_BASE}/web/English/node_433.html", "web", "433", 1)
PAGES, PER_PAGE = 6, 5


def policy(**changes: object) -> Policy:
    base = {"incremental": True, "known_streak": 4, "recheck": dt.timedelta(days=3), "now": NOW, "max_pages": 100}
    return Policy(**{**base, **changes})  # type: ignore[arg-type]


def article(n: int, day: dt.date | None = None) -> str:
    """The n-th newest article of the list: a G3 URL, older as n grows."""
    day = day or dt.date(2026, 11, 20) - dt.timedelta(days=n)
    return f"{CANONICAL_BASE}/web/English/{day:%Y-%m/%d}/content_{200000 + n}.html"


def page_of(n: int) -> ListURL:
    return ListURL(FIRST.page_url(n), "web", "433", n)


def listing(n: int, *, pager: bool = True) -> Listing:
    """Page n of a list of PAGES pages, its pager linking every page but itself."""
    entries = [ListEntry(article(i), f"Story {i}", None) for i in range((n - 1) * PER_PAGE, n * PER_PAGE)]
    return Listing("Cooperation", entries, pages=[p for p in range(1, PAGES + 1) if p != n] if pager else [])


def walk_all(walk: Walk, read: Callable[[int], Listing | str]) -> tuple[list[int], list[str]]:
    """Walk the list from page 1: ``read(n)`` is page n or a failure reason. Returns the pages asked for and the
    articles to fetch."""
    assert walk.start(FIRST)
    asked, fetched, page = [], [], FIRST
    while True:
        asked.append(page.page)
        got = read(page.page)
        step = walk.page_failed(page, got) if isinstance(got, str) else walk.page_read(page, got)
        fetched += [f.entry.url for f in step.fetch]
        if step.next_page is None:
            return asked, fetched
        page = step.next_page


def unknown(url: str) -> Known | None:
    return None


def test_a_healthy_list_is_walked_to_its_last_page_and_the_walk_is_complete() -> None:
    walk = Walk(policy(), unknown)
    asked, fetched = walk_all(walk, listing)
    assert asked == list(range(1, PAGES + 1))
    assert fetched == [article(i) for i in range(PAGES * PER_PAGE)]
    assert walk.complete and walk.lists[("web", "433")].end == "last_page"


def test_past_the_pager_a_404_is_the_proven_end() -> None:
    walk = Walk(policy(), unknown)
    asked, _ = walk_all(walk, lambda n: listing(n, pager=False) if n <= 3 else "http_404")
    assert asked == [1, 2, 3, 4]
    assert walk.complete and walk.lists[("web", "433")].end == "past_end"


@pytest.mark.parametrize("fault", ["http_404", "http_500", "no_entries", "too_large", "http_302", "empty"])
def test_a_page_lost_in_the_middle_never_ends_the_walk_as_if_it_were_the_end(fault: str) -> None:
    """Page 3 broken on the first run: the walk goes on past it (the pager says more follow) and is incomplete."""
    walk = Walk(policy(), unknown)
    empty = Listing("Cooperation", [], pages=[1, 2, 4, 5, 6])
    asked, fetched = walk_all(walk, lambda n: (empty if fault == "no_entries" else fault) if n == 3 else listing(n))
    assert asked == list(range(1, PAGES + 1))
    assert len(fetched) == (PAGES - 1) * PER_PAGE  # every page but the lost one
    assert not walk.complete
    assert walk.lists[("web", "433")].lost == [3]
    assert "lost page(s) 3" in " ".join(walk.incomplete())


def test_without_a_pager_a_lost_page_stops_the_walk_incomplete() -> None:
    walk = Walk(policy(), unknown)
    asked, _ = walk_all(walk, lambda n: listing(n, pager=False) if n != 3 else "http_500")
    assert asked == [1, 2, 3] and not walk.complete


def test_a_lost_first_page_is_incomplete() -> None:
    walk = Walk(policy(), unknown)
    asked, fetched = walk_all(walk, lambda n: "http_500")
    assert asked == [1] and fetched == [] and not walk.complete


def test_a_site_that_repeats_its_last_page_ends_the_walk_with_nothing_new() -> None:
    walk = Walk(policy(), unknown)
    asked, fetched = walk_all(walk, lambda n: listing(min(n, 3), pager=False))
    assert asked == [1, 2, 3, 4]
    assert len(fetched) == 3 * PER_PAGE
    assert walk.complete and walk.lists[("web", "433")].end == "nothing_new"


def test_the_walk_has_a_backstop() -> None:
    walk = Walk(policy(max_pages=3), unknown)
    asked, _ = walk_all(walk, lambda n: Listing("Cooperation", [ListEntry(article(n), "x", None)]))
    assert asked == [1, 2, 3] and not walk.complete


def test_an_incremental_walk_stops_after_enough_known_articles_in_a_row() -> None:
    old = Known("stdaily:1", "u", (), "sha256:" + "0" * 64, 1, "2020-01-01T00:00:00+08:00", False)
    known = {article(i) for i in range(3, 100)}  # the newest three are new
    walk = Walk(policy(), lambda url: old if url in known else None)
    asked, fetched = walk_all(walk, listing)
    assert asked == [1, 2] and fetched == [article(i) for i in range(3)]
    assert walk.complete and walk.lists[("web", "433")].end == "known"
    # A full walk (after an incomplete one, or a refresh) goes to the end regardless.
    full = Walk(policy(incremental=False), lambda url: old if url in known else None)
    assert walk_all(full, listing)[0] == list(range(1, PAGES + 1))


def test_young_known_articles_are_fetched_again_the_others_not() -> None:
    young = Known("stdaily:1", "u", (), None, 1, (NOW - dt.timedelta(days=1)).isoformat(), False)
    old = Known("stdaily:2", "u", (), None, 1, (NOW - dt.timedelta(days=30)).isoformat(), False)
    gone = Known("stdaily:3", "u", (), None, 2, (NOW - dt.timedelta(days=30)).isoformat(), True)
    p = policy()
    assert p.fetch_again(young) and not p.fetch_again(old) and p.fetch_again(gone)
    assert policy(full_refresh=True).fetch_again(old)


def test_since_stops_the_walk_and_until_skips_newer_entries() -> None:
    since = dt.date(2026, 11, 20) - dt.timedelta(days=12)
    walk = Walk(policy(incremental=False, since=since, until=dt.date(2026, 11, 20) - dt.timedelta(days=4)), unknown)
    asked, fetched = walk_all(walk, listing)
    assert fetched == [article(i) for i in range(4, 13)]
    assert asked == [1, 2, 3, 4] and walk.lists[("web", "433")].end == "since" and walk.complete


def test_each_url_is_routed_once_and_twins_wait_to_be_paired() -> None:
    walk = Walk(policy(), unknown)
    walk.start(FIRST)
    legacy = ListURL(f"{CANONICAL_BASE}/English/WorldNews/common_list.shtml", "legacy", "WorldNews", 1)
    walk.start(legacy)
    g2 = ListEntry(f"{CANONICAL_BASE}/web/English/2023-05/08/content_1901234.html", "One Story, Twice", "s")
    g1b = ListEntry(f"{CANONICAL_BASE}/English/WorldNews/202305/{'ab' * 16}.shtml", "One story twice!", "s")
    alone = ListEntry(f"{CANONICAL_BASE}/English/WorldNews/202305/{'cd' * 16}.shtml", "Another", "s")
    assert walk.page_read(FIRST, Listing("Cooperation", [g2, g2])).fetch == []  # parked, and listed twice
    assert walk.page_read(legacy, Listing("Cooperation", [g1b, alone])).fetch == []
    fetches, paired = walk.release(batch=1)
    assert paired == 1 and fetches == [Fetch(g2, g1b)]
    assert walk.release(batch=10) == ([Fetch(alone)], 0)
    assert not walk.parked and not walk.ready


def test_after_the_lists_pending_and_young_unlisted_articles_are_fetched_once() -> None:
    walk = Walk(policy(), unknown)
    walk_all(walk, listing)
    young = Known("stdaily:9", article(99), (), None, 1, NOW.isoformat(), False, "summary")
    fetches, counts = walk.unlisted([(article(0), None), (article(98), "s")], [young])
    assert [f.entry.url for f in fetches] == [article(98), article(99)]  # article(0) was listed, so fetched already
    assert counts == {"stdcrawl/spider/entries/pending": 1, "stdcrawl/spider/entries/recheck_unlisted": 1}
    assert walk.unlisted([(article(97), None)], []) == ([], {})  # once per run


def test_the_walk_survives_a_jobdir_round_trip() -> None:
    walk = Walk(policy(), unknown)
    walk.start(FIRST)
    walk.page_read(FIRST, listing(1))
    again = pickle.loads(pickle.dumps(walk))
    assert again.seen == walk.seen and again.lists.keys() == walk.lists.keys()
    assert again.lookup(article(0)) is None  # the resumed run brings its own
