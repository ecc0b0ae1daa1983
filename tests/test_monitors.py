"""The run monitors: from stats alone, and end to end against a replica whose template changed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import exported, stdcrawl_crawl
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.test import get_crawler
from spidermon.contrib.scrapy.runners import SpiderMonitorRunner

from stdcrawl.drift import template_changes
from stdcrawl.monitors import RunMonitors
from stdcrawl.project import project_settings
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import audit, compare, expected_records
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
        ({"stdcrawl/spider/walk_incomplete": ["the web list 433 lost page(s) 3"],
          "stdcrawl/samples/lost_list_page": ["https://www.stdaily.com/web/English/node_433_3.html"]},
         "walked to its proven end", "lost page(s) 3: https://www.stdaily.com/web/English/node_433_3.html"),
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


def test_which_extraction_path_read_the_articles_never_fails_a_run() -> None:
    """The live site's markup is unknown: the selectors missing every page is the normal case there."""
    unknown_markup = {**HEALTHY, "stdcrawl/spider/articles/path/text": 300}
    assert failed(run_monitors(unknown_markup, [unknown_markup, HEALTHY])) == {}


def test_a_site_whose_meta_lines_are_gone_fails_the_run_and_names_the_pages(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40, drift="meta")) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url)
    assert run.returncode == 1, run.output[-3000:]
    assert "FAILED: monitor failed: Template drift/" in run.output and "monitors      " in run.output
    failure = next(line for line in run.output.splitlines() if line.startswith("FAILED: monitor failed") and "read as articles" in line)
    assert failure.count("https://www.stdaily.com/web/English/") + failure.count("https://www.stdaily.com/English/") == 5
    folder = next((data / "lake" / "stdaily" / "articles").glob("dt=*/run=*"))
    manifest = json.loads((folder / "_manifest.json").read_text())
    report = json.loads((folder / "_report.json").read_text())
    assert manifest["exit_status"] == report["exit_status"] == 1
    assert any(m["status"] == "failed" and "read as articles" in m["monitor"] for m in manifest["monitors"])
    assert report["samples"]["not_article"]


def test_a_healthy_site_in_a_markup_no_selector_knows_passes_and_says_how_it_was_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40, drift="markup")) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url)
        truth = expected_records(replica.model)
    assert run.returncode == 0, run.output[-3000:]
    assert compare(exported(data, "articles"), truth).ok
    extraction = next(line for line in run.output.splitlines() if line.startswith("extraction"))
    assert f"{run.stats['stdcrawl/spider/articles/path/text']} read by the text reader" in extraction
    assert "selectors" not in extraction


def test_a_page_structure_no_recent_run_saw_is_reported_as_a_template_change() -> None:
    def run(**templates: int) -> dict[str, Any]:
        stats = {f"stdcrawl/spider/articles/template/{k}": v for k, v in templates.items()}
        return {**stats, **{f"stdcrawl/samples/template/{k}": [f"https://www.stdaily.com/{k}.html"] for k in templates}}

    history = [run(t1a=30, t1b=10), run(t1a=28, t1b=12)]
    assert template_changes(run(t1a=29, t1b=11), history, 0.2) == []
    assert template_changes(run(t1a=29, t1x=1), history, 0.2) == []  # one page in a new layout: below the share
    changes = template_changes(run(t1x=40), history, 0.2)
    assert changes == [{"template": "t1x", "articles": 40, "of": 40, "samples": ["https://www.stdaily.com/t1x.html"]}]
    assert template_changes(run(t1x=40), [], 0.2) == []  # a first run learns, it has nothing to compare with
    # Reported, never failed by the monitors:
    stats = {**HEALTHY, **run(t1x=300)}
    assert failed(run_monitors(stats, [{**HEALTHY, **run(t1a=300)}])) == {}


def test_a_class_renaming_redesign_after_healthy_runs_passes_and_is_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=40, others=4)
    with ReplicaServer(config) as replica:
        now = f"{replica.model.today_at(0)}T23:00:00+08:00"
        assert stdcrawl_crawl(data, site_url=replica.url, now=now).returncode == 0
        assert stdcrawl_crawl(data, site_url=replica.url, now=now).returncode == 0
    renamed = replace(config, markup="renamed", epoch=1)
    with ReplicaServer(renamed) as replica:
        now = f"{replica.model.today_at(1)}T23:00:00+08:00"
        run = stdcrawl_crawl(data, site_url=replica.url, now=now)
        truth = expected_records(replica.model)
    assert run.returncode == 0, run.output[-3000:]
    assert run.stats["stdcrawl/state/new"] == config.new_per_epoch
    assert "WARNING: Template change:" in run.output
    line = next(line for line in run.output.splitlines() if line.startswith("templates"))
    assert "new page structure t1:" in line and "not a failure" in line
    folder = sorted((data / "lake" / "stdaily" / "articles").glob("dt=*/run=*"))[-1]
    changes = json.loads((folder / "_report.json").read_text())["template_changes"]
    assert changes and all(c["samples"] for c in changes)
    assert json.loads((folder / "_manifest.json").read_text())["template_changes"] == changes
    result = audit(exported(data, "articles"), truth + [r for r in expected_records(SiteModel(config))
                                                          if r["id"] not in {t["id"] for t in truth}])
    assert not result.lost and not result.duplicated, result.summary()
