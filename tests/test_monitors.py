"""The run monitors: from stats alone, and end to end against a replica whose template changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import stdcrawl_crawl
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.test import get_crawler
from spidermon.contrib.scrapy.runners import SpiderMonitorRunner

from stdcrawl.monitors import RunMonitors
from stdcrawl.project import project_settings
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.report import exit_status, failures
from stdcrawl.spiders.channel import CooperationSpider

HEALTHY: dict[str, Any] = {
    "finish_reason": "finished",
    "log_count/ERROR": 1,
    "downloader/response_status_count/200": 380,
    "downloader/response_status_count/500": 4,
    "retry/max_reached": 1,
    "stdcrawl/spider/articles/extracted": 300,
    "stdcrawl/spider/articles/not_article": 1,
    "stdcrawl/spider/articles/path/text": 25,
    "stdcrawl/coverage/articles": 300,
    "stdcrawl/coverage/title": 300,
    "stdcrawl/coverage/published_at": 300,
    "stdcrawl/coverage/body": 300,
    "stdcrawl/coverage/authors": 250,
    "stdcrawl/coverage/images": 200,
    "stdcrawl/coverage/byline": 180,
    "stdcrawl/spider/full_run": 1,
}


def run_monitors(stats: dict[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run the suite on these stats as spidermon does when the spider closes; return the stats after."""
    merged = project_settings()
    ours = {k: merged[k] for k in merged if (merged.getpriority(k) or 0) > SETTINGS_PRIORITIES["default"]}
    crawler = get_crawler(CooperationSpider, ours)
    spider = CooperationSpider.from_crawler(crawler)
    crawler.stats.set_stats(dict(stats))
    SpiderMonitorRunner(spider=spider).run(
        RunMonitors(), stats=crawler.stats.get_stats(), stats_history=history or [], crawler=crawler, spider=spider, job=None
    )
    return crawler.stats.get_stats()


def failed(stats: dict[str, Any]) -> dict[str, str]:
    return {r["monitor"]: r["message"] for r in stats["stdcrawl/monitors/results"] if r["status"] == "failed"}


def test_a_healthy_run_passes_every_monitor() -> None:
    after = run_monitors(HEALTHY, [HEALTHY, HEALTHY])
    assert failed(after) == {}
    assert after["stdcrawl/monitors/passed"] == len(after["stdcrawl/monitors/results"]) >= 10
    assert exit_status(after) == 0


@pytest.mark.parametrize(
    ("change", "monitor", "message"),
    [
        ({"stdcrawl/coverage/body": 290}, "Every article has a title", "articles without body (10)"),
        ({"stdcrawl/coverage/byline": 90}, "bylines come as often", "byline 30% (usually 60%)"),
        ({"stdcrawl/spider/articles/not_article": 40, "stdcrawl/samples/not_article": ["https://www.stdaily.com/a.html"]},
         "read as articles", "40 of 340 article pages did not read as articles: https://www.stdaily.com/a.html"),
        ({"stdcrawl/spider/articles/path/text": 120}, "selectors still find", "120 of 300 articles needed the text fallback"),
        ({"stdcrawl/spider/lists/empty_first": 1, "stdcrawl/samples/empty_list": ["https://www.stdaily.com/l.html"]},
         "List pages link articles", "1 first list pages without article links, 0 lists not found: https://www.stdaily.com/l.html"),
        ({"stdcrawl/spider/articles/extracted": 150}, "as many articles", "150 articles, the last full runs found 300"),
        ({"log_count/ERROR": 9}, "Error", "9"),
        ({"finish_reason": "shutdown"}, "inish", "shutdown"),
        ({"downloader/response_status_count/503": 30}, "HTTP", "503"),
        ({"retry/max_reached": 4}, "retr", "4"),
    ],
)
def test_each_monitor_fails_the_run_it_should(change: dict[str, Any], monitor: str, message: str) -> None:
    after = run_monitors({**HEALTHY, **change}, [HEALTHY, HEALTHY])
    found = {name: text for name, text in failed(after).items() if monitor.lower() in name.lower()}
    assert len(found) == 1, failed(after)
    assert message in next(iter(found.values()))
    assert exit_status(after) == 1
    assert any(line.startswith("monitor failed:") for line in failures(after))


def test_learnt_rates_and_counts_need_history_and_enough_articles() -> None:
    few_bylines = {**HEALTHY, "stdcrawl/coverage/byline": 0}
    assert failed(run_monitors(few_bylines)) == {}  # a first run has nothing to compare with
    small = {**few_bylines, "stdcrawl/coverage/articles": 5, "stdcrawl/coverage/title": 5,
             "stdcrawl/coverage/published_at": 5, "stdcrawl/coverage/body": 5}
    assert failed(run_monitors(small, [HEALTHY])) == {}  # 5 articles: too few to judge rates
    incremental = {**HEALTHY, "stdcrawl/spider/full_run": 0, "stdcrawl/spider/articles/extracted": 0,
                   "stdcrawl/spider/articles/path/text": 0, "stdcrawl/spider/articles/not_article": 0}
    assert failed(run_monitors(incremental, [HEALTHY])) == {}  # nothing new is normal for an incremental run


@pytest.mark.parametrize(("drift", "monitor"), [("meta", "read as articles"), ("markup", "selectors still find")])
def test_a_changed_template_fails_the_run_and_names_the_pages(drift: str, monitor: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40, drift=drift)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url)
    assert run.returncode == 1, run.output[-3000:]
    assert "FAILED: monitor failed: Template drift/" in run.output and "monitors      " in run.output
    failure = next(line for line in run.output.splitlines() if line.startswith("FAILED: monitor failed") and monitor in line)
    assert failure.count("https://www.stdaily.com/web/English/") + failure.count("https://www.stdaily.com/English/") == 5
    folder = next((data / "lake" / "stdaily" / "articles").glob("dt=*/run=*"))
    manifest = json.loads((folder / "_manifest.json").read_text())
    report = json.loads((folder / "_report.json").read_text())
    assert manifest["exit_status"] == report["exit_status"] == 1
    assert any(m["status"] == "failed" and monitor in m["monitor"] for m in manifest["monitors"])
    assert report["samples"]["not_article" if drift == "meta" else "text_fallback"]
