"""The item pipelines, one concern each, on records built in memory."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from stdcrawl.extensions.ledger import ExportLedger
from stdcrawl.feeds.exporters import export_of
from stdcrawl.pipelines.clean import CleanPipeline
from stdcrawl.pipelines.dedupe import DedupePipeline
from stdcrawl.pipelines.state import StatePipeline
from stdcrawl.pipelines.validate import ValidatePipeline
from stdcrawl.record import Article, Rejected, Tombstone

PAGES = Path(__file__).parent / "pages"


def golden(name: str) -> Article:
    record = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    record.update(fetched_url=record["url"], crawled_at="2026-11-27T01:02:03+00:00", summary="A summary.")
    return Article(**record)


@pytest.fixture
def crawler(tmp_path: Path):  # type: ignore[no-untyped-def]
    crawler = get_crawler(Spider, {"STDCRAWL_RUN_ID": "test-run", "STDCRAWL_DATA_DIR": str(tmp_path)})
    crawler.stats.open_spider()
    return crawler


def stat(crawler, name: str) -> int:  # type: ignore[no-untyped-def]
    return crawler.stats.get_value(name, 0)


def test_clean_repairs_damage_and_recomputes_the_hash(crawler) -> None:  # type: ignore[no-untyped-def]
    clean = golden("g2-web")
    damaged = replace(
        clean,
        title=f"  {clean.title.replace(' ', chr(0xa0), 1)} ",
        authors=[" & ".join(clean.authors).replace(" ", "?")],
        body=[{"heading": None, "paragraphs": [*clean.body[0]["paragraphs"], "  ", "六合彩开奖 澳门新葡京 网上赌场 体育投注"]}, *clean.body[1:]],
    )
    pipeline = CleanPipeline.from_crawler(crawler)
    result = pipeline.process_item(damaged)
    assert result.title == clean.title
    assert result.authors == clean.authors and len(clean.authors) >= 1
    assert result.body == clean.body and result.text == clean.text
    assert result.content_hash == clean.content_hash
    assert stat(crawler, "stdcrawl/clean/fixed/title") == 1 and stat(crawler, "stdcrawl/clean/fixed/body") == 1


def test_clean_leaves_a_clean_record_as_it_is(crawler) -> None:  # type: ignore[no-untyped-def]
    for name in ("g1-2021", "gbk", "meta-author-sntdaily", "byline-office", "seed-mirror"):
        record = golden(name)
        assert CleanPipeline.from_crawler(crawler).process_item(replace(record)) == record
    assert not [k for k in crawler.stats.get_stats() if k.startswith("stdcrawl/clean/")]


def test_validate_passes_good_records_and_rejects_bad_ones_with_reasons(crawler) -> None:  # type: ignore[no-untyped-def]
    pipeline = ValidatePipeline.from_crawler(crawler)
    good = golden("twin-g2")
    assert pipeline.process_item(good) is good
    bad = replace(good, title="", published_at="2024-05-08 14:33:37", word_count=0)
    rejected = pipeline.process_item(bad)
    assert isinstance(rejected, Rejected)
    assert (rejected.id, rejected.url) == (good.id, good.url)
    assert [r.split(":")[0] for r in rejected.reasons] == ["published_at", "title", "word_count"]
    assert rejected.record["title"] == ""
    assert stat(crawler, "stdcrawl/validate/rejected") == 1


def test_validate_checks_tombstones_against_their_own_schema(crawler) -> None:  # type: ignore[no-untyped-def]
    pipeline = ValidatePipeline.from_crawler(crawler)
    url = "https://www.stdaily.com/web/English/2024-05/08/content_123456.html"
    good = Tombstone("stdaily:123456", url, [], "Cooperation", 404, "2026-11-27T01:02:03+00:00", 2, "sha256:" + "a" * 64)
    assert pipeline.process_item(good) is good
    assert isinstance(pipeline.process_item(replace(good, http_status=500)), Rejected)


def test_dedupe_drops_repeated_urls_and_contents_and_reports_near_duplicates(crawler) -> None:  # type: ignore[no-untyped-def]
    pipeline = DedupePipeline.from_crawler(crawler)
    first = golden("g3-web-headings")
    assert pipeline.process_item(first) is first
    with pytest.raises(DropItem):
        pipeline.process_item(replace(first))
    other_url = "https://www.stdaily.com/English/WorldNews/202305/" + "cd" * 16 + ".shtml"
    with pytest.raises(DropItem, match="same content"):
        pipeline.process_item(replace(first, id="stdaily:" + "cd" * 16, url=other_url))
    edited = first.text + " One more sentence was added."
    near = replace(first, id="stdaily:123999", url=first.url.replace(first.id[8:], "123999"), text=edited, content_hash="sha256:" + "e" * 64)
    assert pipeline.process_item(near) is near
    unrelated = golden("g2-web")
    assert pipeline.process_item(unrelated) is unrelated
    assert (stat(crawler, "stdcrawl/dedupe/duplicate_url"), stat(crawler, "stdcrawl/dedupe/duplicate_content")) == (1, 1)
    assert stat(crawler, "stdcrawl/dedupe/near_duplicate") == 1


def test_state_decides_new_unchanged_revised_and_deleted(crawler, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger = ExportLedger(crawler, tmp_path / "state.sqlite")
    assert ledger.store is not None
    pipeline = StatePipeline(crawler, ledger)
    g1b = golden("twin-g1b")
    first = replace(golden("twin-g2"), aliases=[g1b.url])  # as the spider merges the twins
    assert first.content_hash == g1b.content_hash
    assert pipeline.process_item(replace(first)).revision == 1
    ledger.store.commit([export_of(first)], "run-1", "2026-11-27T00:00:00+00:00")  # type: ignore[list-item]

    with pytest.raises(DropItem, match="unchanged"):
        pipeline.process_item(replace(first))
    edited = replace(first, content_hash="sha256:" + "f" * 64)
    revised = pipeline.process_item(edited)
    assert (revised.revision, revised.previous_content_hash) == (2, first.content_hash)

    # Only the G1b page was reached this time: it keeps the story's id and URL.
    with pytest.raises(DropItem, match="unchanged"):
        pipeline.process_item(replace(g1b))
    adopted = pipeline.process_item(replace(g1b, content_hash="sha256:" + "d" * 64))
    assert (adopted.id, adopted.url, adopted.aliases, adopted.revision) == (first.id, first.url, [g1b.url], 2)

    gone = Tombstone(first.id, first.url, [], "Cooperation", 404, "2026-11-28T00:00:00+00:00")
    tombstone = pipeline.process_item(gone)
    assert (tombstone.revision, tombstone.previous_content_hash, tombstone.aliases) == (2, first.content_hash, first.aliases)
    with pytest.raises(DropItem):
        never_exported = "https://www.stdaily.com/web/English/2024-05/08/content_100001.html"
        pipeline.process_item(Tombstone("stdaily:100001", never_exported, [], "Cooperation", 404, "2026-11-28T00:00:00+00:00"))
    assert stat(crawler, "stdcrawl/state/new") == 1 and stat(crawler, "stdcrawl/state/unchanged") == 2
    assert stat(crawler, "stdcrawl/state/revised") == 2 and stat(crawler, "stdcrawl/state/deleted") == 1
    assert stat(crawler, "stdcrawl/state/adopted_id") == 2
    assert stat(crawler, "stdcrawl/state/tombstone_not_needed") == 1
