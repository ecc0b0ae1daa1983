"""The spiders, end to end: a real `scrapy crawl` subprocess against the replica on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, run_crawl
from scrapy.http import HtmlResponse, Request
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.test import get_crawler

from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records, forbidden_urls
from stdcrawl.paths import child_env
from stdcrawl.project import project_settings
from stdcrawl.spiders.channel import CooperationSpider, StdailySpider
from stdcrawl.channels import find_channel
from stdcrawl.extract import extract_navigation
from stdcrawl.urls import CANONICAL_BASE, Generation, parse_article_url
from stdcrawl.walk import channel_lists, fallback_lists


def test_cooperation_crawl_exports_every_article_once_as_the_truth_has_it(replica: ReplicaServer, tmp_path: Path) -> None:
    # Every request the crawler makes goes through the replica as a proxy: a request
    # for any host but 127.0.0.1 would show in its log as a whole foreign URL.
    proxy = {"http_proxy": replica.url, "https_proxy": replica.url, "no_proxy": ""}
    result = run_crawl("cooperation", tmp_path, site_url=replica.url, env=proxy)
    assert result.returncode == 0, result.log[-3000:]

    comparison = compare(result.items, expected_records(replica.model))
    assert comparison.ok, comparison.summary()
    exported = {i["url"] for i in result.items} | {a for i in result.items for a in i["aliases"]}
    assert not exported & set(forbidden_urls(replica.model))
    assert all(i["fetched_url"].startswith(replica.url + "/") for i in result.items)
    assert all(i["crawled_at"].endswith("+00:00") for i in result.items)

    requests = replica.requests
    for logged in requests:
        target = urlsplit(logged.target)
        assert target.netloc in ("", replica.netloc), f"request left 127.0.0.1: {logged}"
        assert logged.host == replica.netloc
    assert result.stats["downloader/request_count"] == len(requests)
    # The one exception is robots.txt's refusal; no lookup or connection ever failed.
    assert result.stats["downloader/exception_count"] == result.stats["downloader/exception_type_count/scrapy.exceptions.IgnoreRequest"]

    stats = result.stats
    assert stats["stdcrawl/spider/articles/failed/http_404"] == 1
    assert stats["stdcrawl/spider/articles/failed/http_500"] == 1
    assert stats["stdcrawl/spider/articles/failed/robots_txt"] == 1
    assert stats["stdcrawl/spider/articles/not_article"] == 1
    assert stats["stdcrawl/spider/articles/other_channel"] == 1
    assert stats["stdcrawl/spider/entries/duplicate"] >= 1
    assert stats["stdcrawl/spider/lists/offsite_links"] >= 1
    twins = [i for i in result.items if any(parse_article_url(a).generation is Generation.G1B for a in i["aliases"])]  # type: ignore[union-attr]
    assert stats["stdcrawl/spider/twins/merged"] == len(twins) > 0
    # The twins' pictures sit at each CMS's own URLs: one record, the G2 page's pictures, the G1b copies kept.
    assert all(image["aliases"] for twin in twins for image in twin["images"] if image["url"])
    # A story listed under an old address that redirects (301) within the site keeps its canonical URL.
    moved = {CANONICAL_BASE + path: CANONICAL_BASE + story.paths[story.primary] for path, story in replica.model.moved.items()}
    assert moved and all(any(i["url"] == url and old in i["aliases"] for i in result.items) for old, url in moved.items())
    assert stats["stdcrawl/spider/articles/path/text"] > 0  # the redesigned pages
    # Never the same canonical URL twice: every page fetched once, bar retries of the 503 and 500 pages.
    fetched = [r.target for r in requests if r.status != 503 and r.status != 500]
    assert len(fetched) == len(set(fetched))


def test_since_stops_the_lists_early(replica: ReplicaServer, tmp_path: Path) -> None:
    since = dt.date(2025, 6, 1)
    result = run_crawl("cooperation", tmp_path, "-a", f"since={since}", site_url=replica.url)
    assert result.returncode == 0
    want = [r for r in expected_records(replica.model) if r["published_at"][:10] >= since.isoformat()]
    assert compare(result.items, want).ok
    assert result.stats["stdcrawl/spider/lists/pages"] < 10
    assert "stdcrawl/spider/lists/end" not in result.stats  # stopped by date, not by running out of pages


def test_another_channel_through_the_stdaily_spider(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=60, seed=7)) as replica:
        result = run_crawl("stdaily", tmp_path, "-a", "channel=innovation-china", site_url=replica.url)
        assert result.returncode == 0
        comparison = compare(result.items, expected_records(replica.model, "Innovation China"))
        assert comparison.ok, comparison.summary()
        assert {i["channel"] for i in result.items} == {"Innovation China"}


def test_the_node_id_is_discovered_not_known(tmp_path: Path) -> None:
    config = ReplicaConfig(articles=40, seed=11)
    node = SiteModel(config).nodes["Cooperation"]
    with ReplicaServer(config) as replica:
        result = run_crawl("cooperation", tmp_path, site_url=replica.url)
        assert compare(result.items, expected_records(replica.model)).ok
    assert f"node_{node}.html" in result.log


@pytest.mark.parametrize(
    ("spider", "args", "settings", "message"),
    [
        ("cooperation", ["-a", "since=2024-13-01"], {}, "since='2024-13-01' is not a date: expected YYYY-MM-DD"),
        ("stdaily", ["-a", "channel=Sports"], {}, "unknown channel 'Sports'"),
        ("stdaily", [], {}, "missing -a channel=NAME"),
        ("cooperation", ["-a", "channel=News"], {}, "use `scrapy crawl stdaily -a channel=News`"),
        ("cooperation", [], {"STDCRAWL_SITE_URL": "127.0.0.1:8000"}, "STDCRAWL_SITE_URL must look like http://host:port"),
        ("cooperation", [], {"STDCRAWL_WEB_NODE_ID": "abc"}, "STDCRAWL_WEB_NODE_ID must be a number"),
    ],
)
def test_bad_usage_is_one_clear_error_and_no_request(
    spider: str, args: list[str], settings: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = run_crawl(spider, tmp_path, *args, settings=settings)
    assert "Bad usage: " in result.log and message in result.log
    assert "Traceback" not in result.log
    assert result.stats["finish_reason"] == "usage_error"
    assert result.stats.get("downloader/request_count", 0) == 0
    assert result.items == []


def _spider(cls: type[StdailySpider], **settings: object) -> StdailySpider:
    merged = project_settings(settings)
    ours = {name: merged[name] for name in merged if (merged.getpriority(name) or 0) > SETTINGS_PRIORITIES["default"]}
    crawler = get_crawler(cls, ours)
    crawler.spider = cls.from_crawler(crawler)
    return crawler.spider


def test_without_navigation_the_known_folder_and_node_are_used() -> None:
    cooperation, innovation = find_channel("Cooperation"), find_channel("Innovation China")
    assert cooperation is not None and innovation is not None
    lists, missing = fallback_lists(cooperation, set())
    assert [first.url for first in lists] == ["https://www.stdaily.com/English/WorldNews/common_list.shtml"]
    assert missing  # no node is known for Cooperation: STDCRAWL_WEB_NODE_ID must say it
    lists, missing = fallback_lists(innovation, {"legacy"})
    assert [first.url for first in lists] == ["https://www.stdaily.com/web/English/node_410.html"] and not missing
    assert fallback_lists(cooperation, {"legacy", "web"}) == ([], False)


def test_navigation_is_matched_by_channel_name_on_both_homepages() -> None:
    cooperation = find_channel("cooperation")
    assert cooperation is not None
    html = (
        '<ul><li><a href="/English/WorldNews/common_list.shtml">International Cooperation</a></li>'
        '<li><a href="http://m.stdaily.com/web/English/node_433.html">Cooperation</a></li>'
        '<li><a href="/web/English/node_410.html">Innovation China</a></li>'
        '<li><a href="http://www.stdaily-news.example/web/English/node_999.html">Cooperation</a></li></ul>'
    )
    links = extract_navigation(html, "https://www.stdaily.com/English/index.shtml")
    assert [first.url for first in channel_lists(links, cooperation)] == [
        "https://www.stdaily.com/English/WorldNews/common_list.shtml",
        "https://www.stdaily.com/web/English/node_433.html",
    ]


def test_live_site_defaults_are_polite_and_safe() -> None:
    spider = _spider(CooperationSpider)
    settings = spider.crawler.settings
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1
    assert settings.getint("RETRY_TIMES") >= 2
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")
    assert spider.allowed_domains == ["stdaily.com"]
    assert parse_article_url("https://www.stdaily.com/web/English/2024-05/08/content_123456.html")


_COMPONENTS_LOADED = """
import json, sys
from scrapy.core.downloader.middleware import DownloaderMiddlewareManager
from scrapy.crawler import Crawler
from scrapy.extension import ExtensionManager
from scrapy.utils.misc import load_object
from stdcrawl.project import project_settings
from stdcrawl.spiders.channel import CooperationSpider
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
crawler = Crawler(CooperationSpider, project_settings(json.loads(sys.argv[1])))
crawler._apply_settings()  # the add-ons, as a crawl starts
# The lists Scrapy's managers build, each class imported as they import it.
loaded = [load_object(path).__name__ for manager in (DownloaderMiddlewareManager, ExtensionManager)
          for path in manager._get_mwlist_from_settings(crawler.settings)]
print(json.dumps({"loaded": loaded, "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


@pytest.mark.parametrize(("setting", "component", "module"), [
    ("COOKIES_ENABLED", "CookiesMiddleware", "tldextract"),
    ("REMOTE_CONTROL_ENABLED", "RemoteControl", "aiohttp"),
    ("TELNETCONSOLE_ENABLED", "TelnetConsole", None),
])
def test_a_component_switched_off_is_never_imported_and_switched_on_it_is_loaded(
        setting: str, component: str, module: str | None) -> None:
    def start(**settings: object) -> dict[str, list[str]]:
        out = subprocess.run([sys.executable, "-c", _COMPONENTS_LOADED, json.dumps(settings)], capture_output=True,
                             text=True, check=True, cwd=ROOT, env=child_env())
        return json.loads(out.stdout)

    off, on = start(), start(**{setting: True})
    assert component not in off["loaded"] and component in on["loaded"]
    if module is not None:  # what the component costs at every start
        assert module not in off["modules"] and module in on["modules"]
    others = {"CookiesMiddleware", "RemoteControl", "TelnetConsole"} - {component}
    assert not others & set(on["loaded"])  # switching one on brings back only that one


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        ("/web/English/2024-05/08/content_123456.html", None),
        ("https://stdaily.com/web/English/2024-05/08/content_123456.html", None),
        ("/web/English/2024-05/08/content_1.html", "redirect_loop"),
        ("https://www.stdaily-news.example/web/English/x.html", "redirect_offsite"),
        ("//evil.example/", "redirect_offsite"),
    ],
)
def test_a_redirect_off_the_site_or_back_to_itself_fails_its_request(location: str, refused: str | None) -> None:
    from stdcrawl.downloadermiddlewares.redirectguard import RedirectGuardMiddleware, RedirectRefused

    spider = _spider(CooperationSpider)
    guard = RedirectGuardMiddleware.from_crawler(spider.crawler)
    first = "https://www.stdaily.com/web/English/2024-05/08/content_1.html"
    request = Request("https://www.stdaily.com/web/English/2024-05/08/content_2.html", meta={"redirect_urls": [first]})
    response = HtmlResponse(request.url, status=302, headers={"Location": location}, request=request)
    if refused is None:
        assert guard.process_response(request, response) is response
        return
    with pytest.raises(RedirectRefused) as raised:
        guard.process_response(request, response)
    assert raised.value.reason == refused
    assert spider.crawler.stats.get_value(f"stdcrawl/redirect/{refused.removeprefix('redirect_')}") == 1
