"""The item pipelines, one concern each, on records built in memory."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from stdcrawl.feeds.exporters import export_of
from stdcrawl.pipelines.clean import CleanPipeline
from stdcrawl.pipelines.dedupe import DedupePipeline
from stdcrawl.pipelines.state import StatePipeline
from stdcrawl.pipelines.validate import ValidatePipeline
from stdcrawl.project import project_settings
from stdcrawl.record import Article, Rejected, Tombstone, legacy_content_hash
from stdcrawl.state.ledger import ExportLedger
from stdcrawl.state.store import Seen

PAGES = Path(__file__).parent / "pages"


def golden(name: str) -> Article:
    record = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    record.update(fetched_url=record["url"], crawled_at="2026-11-27T01:02:03+00:00", summary="A summary.")
    return Article(**record)


@pytest.fixture
def crawler(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = project_settings({"STDCRAWL_RUN_ID": "test-run", "STDCRAWL_DATA_DIR": str(tmp_path)})
    crawler = get_crawler(Spider, {k: settings[k] for k in settings if k.startswith("STDCRAWL_")})
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


def test_a_rejected_article_is_pending_and_its_reasons_stay_short(crawler) -> None:  # type: ignore[no-untyped-def]
    ledger = ExportLedger.from_crawler(crawler)
    pipeline = ValidatePipeline(crawler.stats, ledger)
    good = golden("twin-g2")
    rejected = pipeline.process_item(replace(good, title="T" * 1_000_000))
    assert isinstance(rejected, Rejected) and rejected.run_id == good.run_id
    assert max(len(r) for r in rejected.reasons) <= 250  # a 1 MB title is not quoted whole
    assert ledger._failures[good.url][3].startswith("rejected: title")  # fetched again by the next run


def _ledger(crawler) -> ExportLedger:  # type: ignore[no-untyped-def]
    ledger = ExportLedger.from_crawler(crawler)
    assert ledger.store is not None
    return ledger


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
    ledger = _ledger(crawler)
    assert ledger.store is not None
    pipeline = StatePipeline(crawler.stats, ledger)
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

    # The spider's tombstone is bare (no id): the pipeline fills it from what the state knows.
    gone = Tombstone("", g1b.url, [], "Cooperation", 404, "2026-11-28T00:00:00+00:00", run_id="run-2")
    tombstone = pipeline.process_item(gone)
    assert (tombstone.id, tombstone.url, tombstone.aliases) == (first.id, first.url, first.aliases)
    assert (tombstone.revision, tombstone.previous_content_hash) == (2, first.content_hash)
    never_exported = "https://www.stdaily.com/web/English/2024-05/08/content_100001.html"
    with pytest.raises(DropItem, match="never exported"):
        pipeline.process_item(Tombstone("", never_exported, [], "Cooperation", 404, "2026-11-28T00:00:00+00:00"))
    assert never_exported in ledger._failures  # an unknown article that answers 404 is fetched again next run
    assert stat(crawler, "stdcrawl/state/new") == 1 and stat(crawler, "stdcrawl/state/unchanged") == 2
    assert stat(crawler, "stdcrawl/state/revised") == 2 and stat(crawler, "stdcrawl/state/deleted") == 1
    assert stat(crawler, "stdcrawl/state/adopted_id") == 2
    assert stat(crawler, "stdcrawl/state/tombstone_not_needed") == 1


def test_a_twin_met_alone_on_a_later_run_is_the_story_already_known(crawler) -> None:  # type: ignore[no-untyped-def]
    """The G2 page was exported alone (its G1b twin failed that night); the G1b page, whose pictures
    sit at the other CMS's URLs, is then read alone: same story, same id, nothing exported."""
    ledger = _ledger(crawler)
    pipeline = StatePipeline(crawler.stats, ledger)
    g2, g1b = golden("twin-g2"), golden("twin-g1b")
    other_pictures = replace(g1b, images=[{**i, "url": f"https://www.stdaily.com/English/WorldNews/202207/W0{n}.jpg"}
                                          for n, i in enumerate(g1b.images)])
    assert pipeline.process_item(replace(g2)).revision == 1
    ledger.store.commit([export_of(g2)], "run-1", "2026-11-27T00:00:00+00:00")  # type: ignore[list-item,union-attr]
    with pytest.raises(DropItem, match="unchanged"):
        pipeline.process_item(other_pictures)
    assert ledger._unchanged[g2.id] == Seen(g2.id, (g1b.url,), None, g1b.fingerprint)  # its URL becomes an alias
    assert stat(crawler, "stdcrawl/state/adopted_id") == 1


def test_a_hash_of_the_old_definition_is_compared_the_old_way_once(crawler) -> None:  # type: ignore[no-untyped-def]
    ledger = _ledger(crawler)
    pipeline = StatePipeline(crawler.stats, ledger)
    record = golden("g2-web")
    old = replace(record, content_hash=legacy_content_hash({k: getattr(record, k) for k in ("title", "published_at", "source",
                  "authors", "byline", "editor", "images", "body")}))
    ledger.store.commit([export_of(old)], "run-1", "2026-11-27T00:00:00+00:00")  # type: ignore[list-item,union-attr]
    ledger.store.db.execute("UPDATE articles SET hash_version = 1")  # type: ignore[union-attr]
    with pytest.raises(DropItem, match="unchanged"):
        pipeline.process_item(replace(record))
    assert ledger._unchanged[record.id].content_hash == record.content_hash  # replaced by today's definition
