"""Scheduled runs against a replica that changes: each article exported exactly once per revision."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, exported, stdcrawl_crawl

from stdcrawl.replica.model import RECENT, ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records
from stdcrawl.state import StateStore


def evening(model: SiteModel, epoch: int) -> str:
    """When the scheduled run after ``epoch`` happens: that day, 23:00 Beijing time."""
    return f"{model.today_at(epoch)}T23:00:00+08:00"


def history(config: ReplicaConfig, epochs: int) -> tuple[dict[str, list[str]], set[str]]:
    """For each article id, its distinct contents over the epochs; and the ids removed."""
    hashes: dict[str, list[str]] = defaultdict(list)
    alive: set[str] = set()
    for epoch in range(epochs + 1):
        truth = {r["id"]: r for r in expected_records(SiteModel(replace(config, epoch=epoch)))}
        for record_id, record in truth.items():
            if not hashes[record_id] or hashes[record_id][-1] != record["content_hash"]:
                hashes[record_id].append(record["content_hash"])
        alive = set(truth) if epoch == 0 else alive | set(truth)
        removed = alive - set(truth)
    return dict(hashes), removed


@pytest.mark.parametrize("markup", ["standard", "redesign"])
def test_scheduled_runs_export_each_article_once_per_revision(markup: str, tmp_path: Path) -> None:
    """The same scheduled runs over the replica's templates and over a site in a markup no selector knows
    (which the live site may well be): every run exits 0, every article once per revision."""
    data = tmp_path / "data"
    config = ReplicaConfig(markup=markup)
    with ReplicaServer(config) as replica:
        model = replica.model
        first = stdcrawl_crawl(data, site_url=replica.url, now=evening(model, 0))
        assert first.returncode == 0, first.output[-3000:]
        comparison = compare(exported(data, "articles"), expected_records(model))
        assert comparison.ok, comparison.summary()
        extraction = next(line for line in first.output.splitlines() if line.startswith("extraction"))
        if markup == "redesign":  # the report says, once, how the articles were read
            assert "read by the text reader" in extraction and "selectors" not in extraction

        # Nothing changed: nothing exported, and only robots.txt, both homepages, the first
        # page of each list, the young articles (re-checked for edits) and the three pages
        # the first run could not get (a 404, a 500 with its 3 retries, a special topic) are fetched.
        again = stdcrawl_crawl(data, site_url=replica.url, now=evening(model, 0))
        assert again.returncode == 0, again.output[-3000:]
        assert again.stats.get("item_scraped_count", 0) == 0
        assert again.stats["stdcrawl/state/unchanged"] == RECENT
        assert again.stats["stdcrawl/spider/entries/pending"] == 3
        assert again.stats["downloader/request_count"] == 1 + 2 + 2 + RECENT + (1 + 4 + 1)

        for epoch in (1, 2):
            replica.set_epoch(epoch)
            run = stdcrawl_crawl(data, site_url=replica.url, now=evening(replica.model, epoch))
            assert run.returncode == 0, run.output[-3000:]
            assert run.stats["stdcrawl/state/new"] == config.new_per_epoch
            assert run.stats["stdcrawl/state/deleted"] == config.removals_per_epoch
            assert run.stats["stdcrawl/state/revised"] == config.edits_per_epoch
            assert run.stats["downloader/request_count"] < 30
            # A removed article is accounted for by its tombstone: not pending, not fetched again.
            assert run.stats["stdcrawl/spider/entries/pending"] == 3

    articles, tombstones = exported(data, "articles"), exported(data, "tombstones")
    hashes, removed = history(config, 2)
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in articles:
        by_id[record["id"]].append(record)
    assert set(by_id) == set(hashes)
    for record_id, records in by_id.items():
        # Every revision once, in order, each naming the one before it.
        assert [r["content_hash"] for r in records] == hashes[record_id], record_id
        assert [r["revision"] for r in records] == list(range(1, len(records) + 1))
        assert [r["previous_content_hash"] for r in records] == [None, *hashes[record_id][:-1]]
    assert sorted(t["id"] for t in tombstones) == sorted(removed) and len(removed) == 2
    for tombstone in tombstones:
        assert tombstone["deleted"] is True and tombstone["http_status"] == 404
        assert tombstone["revision"] == len(by_id[tombstone["id"]]) + 1
    assert exported(data, "rejects") == []


def test_a_part_that_cannot_be_stored_waits_in_the_spool_for_the_next_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        blocker = data / "lake" / "stdaily" / "articles"
        blocker.parent.mkdir(parents=True)
        blocker.write_text("a file where the articles folder should be")
        failed = stdcrawl_crawl(data, site_url=replica.url)
        assert failed.returncode == 1
        count = len(expected_records(replica.model))
        assert f"FAILED: 1 feed part(s) not stored ({count} records): 1 kept in the spool" in failed.output
        assert failed.stats["stdcrawl/export/failed"] == len(expected_records(replica.model))
        assert failed.stats["stdcrawl/lake/parts_spooled"] == 1
        assert len(StateStore(data / "state.sqlite")) == 0
        assert len(list((data / "spool").rglob("part-00000.jsonl.gz"))) == 1

        blocker.unlink()
        recovered = stdcrawl_crawl(data, site_url=replica.url)
        assert recovered.returncode == 0, recovered.output[-3000:]
        assert recovered.stats["stdcrawl/lake/parts_recovered"] == 1
        assert recovered.stats.get("stdcrawl/state/new", 0) == 0  # uploaded from the spool, not fetched again
        comparison = compare(exported(data, "articles"), expected_records(replica.model))
        assert comparison.ok, comparison.summary()
        assert len(StateStore(data / "state.sqlite")) == len(expected_records(replica.model))
        assert not list((data / "spool").rglob("*.jsonl.gz"))


def test_full_refresh_fetches_everything_and_exports_only_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        assert stdcrawl_crawl(data, site_url=replica.url).returncode == 0
        refresh = stdcrawl_crawl(data, "-a", "full_refresh=true", site_url=replica.url)
        assert refresh.returncode == 0
        assert refresh.stats.get("item_scraped_count", 0) == 0
        assert refresh.stats["stdcrawl/state/unchanged"] == len(expected_records(replica.model))
    assert len(exported(data, "articles")) == len(expected_records(replica.model))


def test_since_and_until_backfill_a_date_range(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig()) as replica:
        run = stdcrawl_crawl(data, "-a", "since=2023-01-01", "-a", "until=2023-12-31", site_url=replica.url)
        assert run.returncode == 0, run.output[-3000:]
        want = [r for r in expected_records(replica.model) if "2023-01-01" <= r["published_at"][:10] <= "2023-12-31"]
        comparison = compare(exported(data, "articles"), want)
        assert comparison.ok, comparison.summary()


def test_the_run_command_reports_bad_usage_with_status_2(tmp_path: Path) -> None:
    for args in (["-a", "since=2024-02-30"], ["Sports"], ["-a", "full_refresh=maybe"], ["cooperation", "news"]):
        run = stdcrawl_crawl(tmp_path / "data", *args, site_url="http://127.0.0.1:9")
        assert run.returncode == 2, (args, run.output[-2000:])
        assert "Traceback" not in run.output


def test_a_record_that_breaks_the_schema_goes_to_the_rejects_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", "tests/spiders/two_records.py", "-s", f"STDCRAWL_DATA_DIR={data}",
         "-s", "STDCRAWL_RUN_ID=run-1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Rejected article https://www.stdaily.com/web/English/" in proc.stderr
    assert [r["id"] for r in exported(data, "articles")] == [json.loads((ROOT / "tests/pages/g2-web.json").read_text())["id"]]
    rejects = exported(data, "rejects")
    assert [(r["id"], r["reasons"]) for r in rejects] == [
        ("stdaily:1999999", ["published_at: 'yesterday' does not match '^\\\\d{4}-\\\\d{2}-\\\\d{2}T\\\\d{2}:\\\\d{2}:\\\\d{2}\\\\+08:00$'"])
    ]
    assert rejects[0]["record"]["published_at"] == "yesterday"
    assert len(StateStore(data / "state.sqlite")) == 1  # the reject is not marked exported
