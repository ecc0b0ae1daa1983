from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

import pytest

from stdcrawl.urls import Generation, SiteMap, canonicalize, parse_article_url, parse_list_url

PATH = "/web/English/2024-05/08/content_123456.html"


@pytest.mark.parametrize(
    "href",
    [
        PATH,
        "https://www.stdaily.com" + PATH,
        "http://stdaily.com" + PATH,
        "https://m.stdaily.com" + PATH,
        "http://www.stdaily.com" + PATH + "?spm=list#top",
        "HTTP://WWW.STDAILY.COM" + PATH,
        "https://www.stdaily.com//web/English/2024-05/08//content_123456.html",
    ],
)
def test_every_host_and_scheme_is_one_canonical_url(href: str) -> None:
    assert canonicalize(href, "https://www.stdaily.com/web/English/node_410.html") == "https://www.stdaily.com" + PATH


def test_relative_links_resolve_against_the_page() -> None:
    base = "https://www.stdaily.com/web/English/node_410_2.html"
    assert canonicalize("2024-05/08/content_123456.html", base) == "https://www.stdaily.com" + PATH


@pytest.mark.parametrize(
    "href",
    [
        "http://www.stdaily-news.example" + PATH,  # a spam mirror keeps the path, swaps the host
        "https://stdaily.com.evil.example" + PATH,
        "mailto:yuhy@stdaily.com",
        "javascript:void(0)",
        "ftp://www.stdaily.com" + PATH,
        "#top",
        "",
    ],
)
def test_off_site_and_non_web_links_have_no_canonical_form(href: str) -> None:
    assert canonicalize(href, "https://www.stdaily.com/") is None


@pytest.mark.parametrize(
    ("path", "generation", "key", "date"),
    [
        ("/English/WorldNews/2021-11/11/content_1225013.shtml", Generation.G1, "1225013", dt.date(2021, 11, 11)),
        ("/English/WorldNews/202205/" + "ab" * 16 + ".shtml", Generation.G1B, "ab" * 16, dt.date(2022, 5, 1)),
        ("/web/English/2023-06/09/content_1901234.html", Generation.G2, "1901234", dt.date(2023, 6, 9)),
        ("/web/English/2025-01/02/content_104321.html", Generation.G3, "104321", dt.date(2025, 1, 2)),
    ],
)
def test_article_shapes_of_the_four_generations(path: str, generation: Generation, key: str, date: dt.date) -> None:
    parsed = parse_article_url("https://www.stdaily.com" + path)
    assert parsed is not None
    assert (parsed.generation, parsed.key, parsed.date, parsed.id) == (generation, key, date, f"stdaily:{key}")


@pytest.mark.parametrize(
    "path",
    [
        "/web/English/zt/2025kjhz/index.html",
        "/web/English/node_410.html",
        "/English/WorldNews/202205/ABCDEF.shtml",
        "/web/English/2024-13/08/content_123456.html",  # month 13
        "/web/English/2024-05/08/content_12345.html",  # five digits: no generation has it
    ],
)
def test_other_pages_are_not_articles(path: str) -> None:
    assert parse_article_url("https://www.stdaily.com" + path) is None


def test_list_pages_of_both_families_and_their_paging() -> None:
    legacy = parse_list_url("https://www.stdaily.com/English/WorldNews/common_list_3.shtml")
    web = parse_list_url("https://www.stdaily.com/web/English/node_410.html")
    assert legacy is not None and (legacy.family, legacy.list_key, legacy.page) == ("legacy", "WorldNews", 3)
    assert web is not None and (web.family, web.list_key, web.page) == ("web", "410", 1)
    assert legacy.page_url(1) == "https://www.stdaily.com/English/WorldNews/common_list.shtml"
    assert web.page_url(6) == "https://www.stdaily.com/web/English/node_410_6.html"


def test_site_map_sends_requests_to_the_replica() -> None:
    site = SiteMap("http://127.0.0.1:8123/")
    assert site.fetch_url("https://www.stdaily.com" + PATH) == "http://127.0.0.1:8123" + PATH
    assert site.host == "127.0.0.1"
    live = SiteMap("")
    assert live.fetch_url("https://www.stdaily.com" + PATH) == "https://www.stdaily.com" + PATH
    assert live.host == "stdaily.com"


@pytest.mark.parametrize("bad", ["127.0.0.1:8000", "ftp://127.0.0.1", "http://127.0.0.1:8000/prefix"])
def test_site_map_refuses_a_base_that_is_not_a_site_root(bad: str) -> None:
    with pytest.raises(ValueError, match="STDCRAWL_SITE_URL"):
        SiteMap(bad)


@pytest.mark.parametrize(
    ("href", "canonical"),
    [
        ("/English/./WorldNews/../WorldNews/common_list.shtml", "https://www.stdaily.com/English/WorldNews/common_list.shtml"),
        ("/../English/index.shtml", "https://www.stdaily.com/English/index.shtml"),
        ("//m.stdaily.com/English/index.shtml", "https://www.stdaily.com/English/index.shtml"),
    ],
)
def test_dot_segments_and_scheme_relative_links(href: str, canonical: str) -> None:
    assert canonicalize(href, "https://www.stdaily.com/web/English/node_410.html") == canonical
    assert canonicalize(href) == canonical


# Every shape of link the fast paths of canonicalize() take, and their near misses that must not.
_HREFS = [
    "common_list_3.shtml", "node_410_2.html", "2024-05/08/content_123456.html", "content_1.html?spm=x#c",
    "./common_list_3.shtml", "../WorldNews/common_list.shtml", "a/../b.html", "a/./b.html", ".hidden", "..",
    "..x/y.html", "a//b.html", "a b.html", "a\tb.html", "a\nb.html", "a:b.html", "a\\b.html", "?page=2", "x#",
    "https://www.stdaily.com", "https://www.stdaily.com/", "http://STDAILY.com/English//x.shtml",
    "https://www.stdaily.com/English/../web/x.html", "https://www.stdaily.com:443/x.html",
    "https://user@www.stdaily.com/x.html", "https://www.stdaily.com./x.html", "https://evil.example/x",
    "//m.stdaily.com/x.html?q", "//evil.example/x.html", "///x.html", "http:///x.html", "https:x.html",
    "HTTPS://M.STDAILY.COM/a/b/", "/web/English/./x.html", "/a//b/../c.html", "ftp://www.stdaily.com/x",
    "https://www.stdaily.com/x.html#frag?not-query", "https://www.stdaily.com?q=1", "https://www.stdaily.com#f",
]
_BASES = [
    None, "https://www.stdaily.com/web/English/node_410_2.html", "https://www.stdaily.com/English/WorldNews/",
    "https://www.stdaily.com/a/b.html?x=/y/z#/w", "https://www.stdaily.com/", "ftp://www.stdaily.com/a/",
    "https://evil.example/a/b.html", "HTTP://www.stdaily.com/a/b.html",
]


def _by_urljoin(href: str, base: str | None) -> str | None:
    """The definition: browsers' noise dropped, the link resolved by urljoin, the host checked, slashes collapsed."""
    href = href.strip().replace("\t", "").replace("\r", "").replace("\n", "")
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:", "#")):
        return None
    if href.startswith("/"):
        base = base or "https://www.stdaily.com"
    parts = urlsplit(urljoin(base, href) if base else href)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in ("www.stdaily.com", "stdaily.com", "m.stdaily.com"):
        return None
    return "https://www.stdaily.com" + (re.sub("/{2,}", "/", parts.path) or "/")


@pytest.mark.parametrize("base", _BASES)
def test_the_fast_paths_agree_with_urljoin_on_every_shape(base: str | None) -> None:
    for href in _HREFS:
        assert canonicalize(href, base) == _by_urljoin(href, base), (href, base)
