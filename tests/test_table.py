"""The current-articles Delta table: columns, runs across replica epochs, idempotency, rebuild, time travel, S3, maintenance.

Records come from the replica's ground truth (``expected_records``), completed
with the fields a crawl adds; what the table must hold after each run is that
truth at the run's epoch, never something computed by stdcrawl.table. Readers
are deltalake, polars and DuckDB's delta extension (loaded from its PyPI
package, offline). S3 is moto's server on 127.0.0.1, in this process.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from jsonschema import Draft202012Validator
from moto.s3.responses import S3Response
from moto.server import ThreadedMotoServer

from conftest import arrow_table

from stdcrawl import schema
from stdcrawl.lake import LakeURI, MANIFEST, SUCCESS, run_folder
from stdcrawl.lake import manifest as lake_manifest
from stdcrawl.lake.stores import LocalStore
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.truth import expected_records
from stdcrawl.state import Part, Run
from stdcrawl.table import current as current_module
from stdcrawl.table import (
    ChangeLogError,
    Counters,
    CurrentArticles,
    MaintenancePolicy,
    RecordError,
    TableError,
    TableMissing,
    TableSchemaError,
    TableWriteError,
    lake_runs,
    storage_options,
)

ARTICLES = 40
TODAY = dt.date(2026, 11, 20)  # the replica's default last day at epoch 0
VALIDATORS = {kind: Draft202012Validator(schema.load(kind)) for kind in ("article", "tombstone")}


# -- what a correct crawl exports, from the replica's truth ------------------------------------------


def truth_at(epoch: int, channel: str = "Cooperation") -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in expected_records(SiteModel(ReplicaConfig(articles=ARTICLES, epoch=epoch)), channel)}


def article(truth: dict[str, Any], run_id: str, revision: int, previous: str | None, epoch: int) -> dict[str, Any]:
    """A truth record completed with the fields a crawl fills in, valid against the article schema."""
    digest = hashlib.sha256(f"{truth['id']}/{run_id}".encode()).hexdigest()
    path = truth["url"].split("/", 3)[3]
    record = {k: v for k, v in truth.items() if k != "generation"}
    record.update(
        fetched_url=f"http://127.0.0.1:8000/{path}",
        crawled_at=f"{TODAY + dt.timedelta(days=epoch)}T15:{epoch % 60:02d}:07.250000+00:00",
        parser=f"{truth['generation']}/text-v1/selectors",
        template=digest[:16], charset="utf-8", replacement_chars=0, run_id=run_id,
        provenance=[{"url": f"http://127.0.0.1:8000/{path}", "warc": f"stdaily/warc/dt={TODAY}/run={run_id}/00000.warc.gz",
                     "offset": 512 * (1 + int(digest[:4], 16)),
                     "record_id": f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>",
                     "payload_digest": "sha1:" + "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[int(c, 16)] for c in digest[:32])}],
        fingerprint=digest[:16], revision=revision, previous_content_hash=previous, deleted=False, schema_version=2,
    )
    VALIDATORS["article"].validate(record)
    return record


def tombstone(record: dict[str, Any], run_id: str, epoch: int) -> dict[str, Any]:
    stone = {"id": record["id"], "url": record["url"], "aliases": record["aliases"], "channel": record["channel"],
             "http_status": 404, "crawled_at": f"{TODAY + dt.timedelta(days=epoch)}T15:00:00+00:00",
             "revision": record["revision"] + 1, "previous_content_hash": record["content_hash"], "run_id": run_id,
             "deleted": True, "schema_version": 2}
    VALIDATORS["tombstone"].validate(stone)
    return stone


class Crawl:
    """A scheduled crawl of one channel across epochs, as the state store numbers revisions."""

    def __init__(self, channel: str = "Cooperation") -> None:
        self.channel = channel
        self.live: dict[str, dict[str, Any]] = {}  # id -> last exported article
        self.last_revision: dict[str, int] = {}

    def run(self, epoch: int, run_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, set[str]]]:
        truth = truth_at(epoch, self.channel)
        articles, changes = [], {"insert": set(), "update": set(), "delete": set()}
        for story_id, record in truth.items():
            before = self.live.get(story_id)
            if before is not None and before["content_hash"] == record["content_hash"]:
                continue
            revision = self.last_revision.get(story_id, 0) + 1
            articles.append(article(record, run_id, revision, before["content_hash"] if before else None, epoch))
            changes["update" if before else "insert"].add(story_id)
        tombstones = [tombstone(self.live[i], run_id, epoch) for i in sorted(set(self.live) - set(truth))]
        changes["delete"] = {t["id"] for t in tombstones}
        for record in articles:
            self.live[record["id"]] = record
        for stone in tombstones:
            del self.live[stone["id"]]
        self.last_revision.update({r["id"]: r["revision"] for r in [*articles, *tombstones]})
        return articles, tombstones, changes


def current(table: DeltaTable) -> dict[str, tuple[str, int]]:
    rows = arrow_table(table, columns=["id", "content_hash", "revision"]).to_pylist()
    assert len(rows) == len({r["id"] for r in rows}), "one row per story"
    return {r["id"]: (r["content_hash"], r["revision"]) for r in rows}


def expected(crawl: Crawl) -> dict[str, tuple[str, int]]:
    return {i: (r["content_hash"], r["revision"]) for i, r in crawl.live.items()}


def run_id(epoch: int, channel: str = "coop") -> str:
    return f"{TODAY + dt.timedelta(days=epoch):%Y%m%d}T150000Z-{channel}{epoch}"


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """DuckDB with the delta extension of its own version, from the duckdb-extension-delta package: no download."""
    import duckdb_extension_delta

    path = Path(duckdb_extension_delta.__file__).parent / "extensions" / f"v{duckdb.__version__}" / "delta.duckdb_extension"
    con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    con.execute(f"LOAD '{path}'")
    return con


@pytest.fixture(scope="module")
def epochs() -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], dict[str, set[str]], dict[str, tuple[str, int]]]]:
    """Four runs of a scheduled crawl: a first full run, then epochs 1-3 (new, revised and removed stories)."""
    crawl, runs = Crawl(), []
    for epoch in range(4):
        articles, tombstones, changes = crawl.run(epoch, run_id(epoch))
        runs.append((run_id(epoch), articles, tombstones, changes, expected(crawl)))
    assert all(runs[e][3]["update"] and runs[e][3]["delete"] and runs[e][3]["insert"] for e in (1, 2, 3))
    return runs


# -- columns and readers -----------------------------------------------------------------------------


def test_columns_come_back_typed_in_deltalake_polars_and_duckdb(tmp_path: Path) -> None:
    truth = truth_at(0)
    records = [article(r, "r0", 1, None, 0) for r in truth.values()]
    table = CurrentArticles(str(tmp_path / "t"))
    assert table.commit_run("r0", records, [], channel="Cooperation", status="ok").inserted == len(truth)

    arrow = arrow_table(table.open())
    assert arrow.num_rows == len(truth) == len(set(arrow.column("id").to_pylist()))
    types = {f.name: f.type for f in arrow.schema}
    assert types["published_at"] == types["crawled_at"] == pa.timestamp("us", tz="UTC")
    assert types["published_date"] == pa.date32() and types["published_year"] == pa.int32()
    assert types["authors"].value_type == pa.string() and types["revision"] == pa.int32()
    assert [f.name for f in types["images"].value_type] == ["url", "caption", "credit", "aliases"]
    assert [f.name for f in types["body"].value_type] == ["heading", "paragraphs"]
    assert types["provenance"].value_type.field("offset").type == pa.int64()
    assert set(arrow.schema.names) >= set(schema.load("article")["required"]) | {"published_date", "published_year"}
    by_id = {r["id"]: r for r in arrow.to_pylist()}
    for story_id, want in truth.items():
        got = by_id[story_id]
        assert got["published_at"] == dt.datetime.fromisoformat(want["published_at"])
        for name in ("title", "authors", "images", "body", "content_hash", "aliases", "channel"):
            assert got[name] == want[name], name
        assert got["run_id"] == "r0" and got["revision"] == 1 and got["deleted"] is False

    frame = pl.read_delta(table.uri)
    assert frame.height == len(truth) and frame["id"].n_unique() == len(truth)
    assert frame.schema["published_at"] == pl.Datetime("us", "UTC") and frame.schema["published_date"] == pl.Date
    assert frame.schema["authors"] == pl.List(pl.String)
    assert frame.schema["images"] == pl.List(pl.Struct({"url": pl.String, "caption": pl.String, "credit": pl.String,
                                                        "aliases": pl.List(pl.String)}))
    one_year = pl.scan_delta(table.uri).filter(pl.col("published_year") == 2024).collect()
    assert sorted(one_year["id"]) == sorted(i for i, r in truth.items() if r["published_at"].startswith("2024-"))

    con = duckdb_connection()
    described = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM delta_scan('{table.uri}')").fetchall()}
    assert described["published_at"] == "TIMESTAMP WITH TIME ZONE" and described["published_date"] == "DATE"
    assert described["authors"] == "VARCHAR[]" and described["revision"] == "INTEGER"
    assert described["images"] == "STRUCT(url VARCHAR, caption VARCHAR, credit VARCHAR, aliases VARCHAR[])[]"
    assert described["body"] == "STRUCT(heading VARCHAR, paragraphs VARCHAR[])[]"
    count, ids = con.execute(f"SELECT count(*), count(DISTINCT id) FROM delta_scan('{table.uri}')").fetchone()
    assert count == ids == len(truth)


def test_published_date_is_the_beijing_date_at_the_day_boundary(tmp_path: Path) -> None:
    base = next(iter(truth_at(0).values()))
    times = {  # Beijing time -> its Beijing date; the UTC date is the day before for all three
        "2024-05-08T01:00:00+08:00": dt.date(2024, 5, 8),
        "2024-12-31T07:59:59+08:00": dt.date(2024, 12, 31),
        "2025-01-01T05:00:00+08:00": dt.date(2025, 1, 1),
    }
    records = []
    for n, published in enumerate(times):
        record = article(base, "r0", 1, None, 0)
        records.append({**record, "id": f"stdaily:{900000 + n}", "published_at": published})
    table = CurrentArticles(str(tmp_path / "t"))
    table.commit_run("r0", records, [], channel="Cooperation", status="ok")
    rows = {r["published_at"]: r for r in arrow_table(table.open()).to_pylist()}
    for published, day in times.items():
        instant = dt.datetime.fromisoformat(published)
        row = rows[instant]
        assert row["published_at"].astimezone(dt.UTC).date() == day - dt.timedelta(days=1)
        assert (row["published_date"], row["published_year"]) == (day, day.year)
    frame = pl.read_delta(table.uri).with_columns(local=pl.col("published_at").dt.convert_time_zone("Asia/Shanghai").dt.date())
    assert frame["local"].to_list() == frame["published_date"].to_list()
    assert sorted(DeltaTable(table.uri).partitions(), key=str) == [{"published_year": "2024"}, {"published_year": "2025"}]


# -- runs across epochs ------------------------------------------------------------------------------


def test_each_run_is_one_commit_and_the_change_feed_lists_exactly_its_changes(tmp_path: Path, epochs: list[Any]) -> None:
    stats = Counters()
    table = CurrentArticles(str(tmp_path / "t"), stats=stats)
    versions = []
    for rid, articles, tombstones, changes, want in epochs:
        result = table.commit_run(rid, articles, tombstones, channel="Cooperation", status="ok", metadata={"stdcrawl.spider": "cooperation"})
        assert result.committed and (result.inserted, result.updated, result.deleted) == tuple(
            len(changes[k]) for k in ("insert", "update", "delete"))
        assert current(table.open()) == want
        if versions:
            assert result.version == versions[-1] + 1  # one commit per run
        versions.append(result.version)
        feed = pa.table(table.open().load_cdf(starting_version=result.version, ending_version=result.version).read_all())
        kinds: dict[str, set[str]] = {}
        for row in feed.select(["id", "_change_type"]).to_pylist():
            kinds.setdefault(row["_change_type"], set()).add(row["id"])
        assert kinds.get("insert", set()) == changes["insert"] and kinds.get("delete", set()) == changes["delete"]
        assert kinds.get("update_preimage", set()) == kinds.get("update_postimage", set()) == changes["update"]
    commit = table.history()[-1]
    assert commit["stdcrawl.run_id"] == epochs[-1][0] and commit["stdcrawl.status"] == "ok"
    assert commit["stdcrawl.spider"] == "cooperation" and json.loads(commit["stdcrawl.counts"])["tombstones"] == 1
    assert table.committed_runs() == [e[0] for e in epochs]
    assert stats.values["stdcrawl/table/runs_committed"] == len(epochs)

    # The change feed between any two versions: inserts, updates (pre and post images) and deletes of those runs.
    feed = pa.table(table.open().load_cdf(starting_version=versions[1], ending_version=versions[3]).read_all())
    posts = {(r["id"], r["revision"]) for r in feed.to_pylist() if r["_change_type"] == "update_postimage"}
    assert posts == {(a["id"], a["revision"]) for e in epochs[1:] for a in e[1] if a["revision"] > 1}


def test_time_travel_to_each_run(tmp_path: Path, epochs: list[Any]) -> None:
    table = CurrentArticles(str(tmp_path / "t"))
    for rid, articles, tombstones, _changes, _want in epochs:
        table.commit_run(rid, articles, tombstones, channel="Cooperation", status="ok")
    for rid, *_, want in epochs:
        version = table.version_of_run(rid)
        assert version is not None and current(table.at_run(rid)) == want
        assert DeltaTable(table.uri, version=version).version() == version
    assert table.version_of_run("never-ran") is None


def test_a_run_committed_twice_or_after_a_crash_counts_once(tmp_path: Path, epochs: list[Any]) -> None:
    stats = Counters()
    table = CurrentArticles(str(tmp_path / "t"), stats=stats)
    first = table.commit_run(*epochs[0][:3], channel="Cooperation", status="ok")
    again = table.commit_run(*epochs[0][:3], channel="Cooperation", status="ok")
    assert first.committed and not again.committed and again.version is None
    assert table.version == first.version and stats.values["stdcrawl/table/already_committed"] == 1

    # A crash after the commit and before the caller noted it: the next start commits the run again, then the next.
    for rid, articles, tombstones, *_ in epochs[1:3]:
        table.commit_run(rid, articles, tombstones, channel="Cooperation", status="ok")
    assert not table.commit_run(*epochs[2][:3], channel="Cooperation", status="failed").committed
    table.commit_run(*epochs[3][:3], channel="Cooperation", status="ok")
    assert current(table.open()) == epochs[3][4]
    assert table.committed_runs() == [e[0] for e in epochs]

    # A revision never goes backwards: older records of live stories, under a new run id, change nothing and are counted.
    older = [a for a in epochs[1][1] if a["id"] in epochs[3][4]]
    replay = table.commit_run("replay-of-epoch-1", older, [], channel="Cooperation", status="ok")
    assert replay.committed and replay.not_applied == len(older) and (replay.inserted, replay.updated) == (0, 0)
    assert current(table.open()) == epochs[3][4] and stats.values["stdcrawl/table/not_applied"] == len(older)
    assert table.is_committed("replay-of-epoch-1")  # recorded all the same, by a commit that changes no data


def test_two_committers_of_the_same_run_commit_it_once(tmp_path: Path, epochs: list[Any]) -> None:
    table = CurrentArticles(str(tmp_path / "t"))
    table.commit_run(*epochs[0][:3], channel="Cooperation", status="ok")
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        CurrentArticles(table.uri).commit_run(*epochs[1][:3], channel="Cooperation", status="ok"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.committed for r in results) == [False, True]
    assert table.committed_runs() == [epochs[0][0], epochs[1][0]] and current(table.open()) == epochs[1][4]


def test_runs_in_order_equal_their_union(tmp_path: Path, epochs: list[Any]) -> None:
    one_by_one = CurrentArticles(str(tmp_path / "a"))
    for rid, articles, tombstones, *_ in epochs:
        one_by_one.commit_run(rid, articles, tombstones, channel="Cooperation", status="ok")
    union = CurrentArticles(str(tmp_path / "b"))
    union.commit_run("all", [a for e in epochs for a in e[1]], [t for e in epochs for t in e[2]], channel="Cooperation", status="ok")
    assert rows_of(one_by_one) == rows_of(union)


def test_a_run_is_turned_into_arrow_a_chunk_at_a_time_and_only_kept_records_must_fit(
        tmp_path: Path, epochs: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    whole = CurrentArticles(str(tmp_path / "whole"))
    records = [a for e in epochs for a in e[1]]
    stones = [t for e in epochs for t in e[2]]
    whole.commit_run("all", records, stones, channel="Cooperation", status="ok")
    monkeypatch.setattr(current_module, "CHUNK_ROWS", 3)  # many chunks, a story's revisions in different ones
    chunked = CurrentArticles(str(tmp_path / "chunked"))
    # Earlier revisions that do not fit the table, superseded later in the same run: not the table's concern.
    story = records[-1]
    superseded = [{**story, "revision": -1, "title": None}, {**story, "revision": 0, "word_count": "many"}]
    chunked.commit_run("all", [*superseded, *records], stones, channel="Cooperation", status="ok")
    assert rows_of(chunked) == rows_of(whole)
    assert len(rows_of(whole)) == len(epochs[-1][4])
    with pytest.raises(RecordError, match=re.escape("word_count does not fit int32")):
        CurrentArticles(str(tmp_path / "bad")).commit_run(
            "bad", [*records[:7], {**story, "revision": 99, "word_count": "many"}], [], channel="Cooperation", status="ok")


def rows_of(table: CurrentArticles) -> list[dict[str, Any]]:
    return sorted(arrow_table(table.open()).to_pylist(), key=lambda r: r["id"])


# -- the change log in the lake, and rebuilding from it ----------------------------------------------


def write_run(store: LocalStore, rid: str, epoch: int, articles: list[Any], tombstones: list[Any], *, finished: bool = True) -> None:
    """A run's folders as the crawl leaves them: gzip JSONL parts, a manifest listing them, then _SUCCESS."""
    day = str(TODAY + dt.timedelta(days=epoch))
    run = Run(rid, "cooperation", "Cooperation", day, f"{day}T15:00:00+00:00", f"{day}T15:05:00+00:00", "finished",
              {"new": len(articles)}, True)
    for dataset, records in (("articles", articles), ("tombstones", tombstones)):
        if dataset == "tombstones" and not records:
            continue
        folder, parts = run_folder(dataset, day, rid), []
        for n in range(0, max(len(records), 1), 20):
            if not records:
                break
            body = gzip.compress("".join(json.dumps(r) + "\n" for r in records[n:n + 20]).encode())
            key = f"{folder}part-{n // 20:05d}.jsonl.gz"
            store.put(key, body)
            parts.append(Part(key, dataset, len(records[n:n + 20]), len(body), hashlib.sha256(body).hexdigest()))
        store.put(folder + MANIFEST, lake_manifest.build(run, dataset, parts, finished_by=rid, extra={"exit_status": 0}))
        if finished:
            store.put(folder + SUCCESS, b"")


def test_rebuild_from_the_lake_equals_the_maintained_table(tmp_path: Path, epochs: list[Any]) -> None:
    store = LocalStore(tmp_path / "lake")
    maintained = CurrentArticles(str(tmp_path / "maintained"))
    for epoch, (rid, articles, tombstones, *_) in enumerate(epochs):
        write_run(store, rid, epoch, articles, tombstones)
        maintained.commit_run(rid, articles, tombstones, channel="Cooperation", status="ok")
    write_run(store, "20261125T150000Z-unfinished", 5, epochs[0][1][:2], [], finished=False)

    stats = Counters()
    runs = list(lake_runs(store, stats=stats))
    assert [r.run_id for r in runs] == [e[0] for e in epochs] and {r.status for r in runs} == {"ok"}
    assert [len(r.articles) for r in runs] == [len(e[1]) for e in epochs] and runs[2].tombstones == epochs[2][2]
    assert stats.values == {"stdcrawl/table/unfinished_runs": 1}

    rebuilt = CurrentArticles(str(tmp_path / "rebuilt"))
    result = rebuilt.rebuild(runs)
    assert result.inserted == len(epochs[-1][4]) and rows_of(rebuilt) == rows_of(maintained)
    assert rebuilt.committed_runs() == [e[0] for e in epochs]
    assert all(rebuilt.is_committed(e[0]) for e in epochs)
    assert not rebuilt.commit_run(*epochs[2][:3], channel="Cooperation", status="ok").committed

    with pytest.raises(TableError, match="exists"):
        rebuilt.rebuild(runs)
    assert rebuilt.rebuild(runs[:2], replace=True).inserted == len(epochs[1][4])
    assert current(rebuilt.open()) == epochs[1][4]

    store.put(f"{run_folder('articles', str(TODAY), epochs[0][0])}part-00000.jsonl.gz", b"not gzip")
    with pytest.raises(ChangeLogError, match=r"part .*part-00000.jsonl.gz cannot be read"):
        list(lake_runs(store))


# -- bad input, other tables -------------------------------------------------------------------------


def test_bad_records_and_foreign_tables_are_one_line_errors(tmp_path: Path, epochs: list[Any]) -> None:
    table = CurrentArticles(str(tmp_path / "t"))
    table.commit_run(*epochs[0][:3], channel="Cooperation", status="ok")
    version = table.version
    good = epochs[1][1][0]
    for bad, message in [
        ({**good, "published_at": "8 May 2024"}, "published_at '8 May 2024' is not ISO 8601"),
        ({**good, "title": None}, "title is missing or null"),
        ({**good, "word_count": "many"}, "word_count does not fit int32"),
        ({**good, "shiny": 1}, "fields the table does not know: shiny"),
        ({**good, "schema_version": 3}, "schema_version 3"),
    ]:
        with pytest.raises(RecordError, match=re.escape(message)) as caught:
            table.commit_run("bad", [bad], [], channel="Cooperation", status="ok")
        assert "\n" not in str(caught.value) and good["id"] in str(caught.value)
    assert table.version == version and not table.is_committed("bad")
    with pytest.raises(ValueError, match="run status 'maybe'"):
        table.commit_run("r9", [], [], channel="Cooperation", status="maybe")
    with pytest.raises(ValueError, match="run id"):
        table.commit_run("../etc", [], [], channel="Cooperation", status="ok")

    with pytest.raises(TableMissing, match="no Delta table there"):
        CurrentArticles(str(tmp_path / "nothing")).open()
    assert not CurrentArticles(str(tmp_path / "nothing")).is_committed("r0")
    with pytest.raises(TableSchemaError, match="partitioned by published_year .year., not month"):
        CurrentArticles(table.uri, partitioning="month").commit_run("x", [], [], channel=None, status="ok")
    write_deltalake(str(tmp_path / "other"), pa.table({"id": ["a"], "n": [1]}))
    with pytest.raises(TableSchemaError, match="is not a current-articles table: column url is missing"):
        CurrentArticles(str(tmp_path / "other")).commit_run("x", [], [], channel=None, status="ok")


# -- maintenance ---------------------------------------------------------------------------------------


def test_maintenance_compacts_and_checkpoints_and_reads_stay_right(tmp_path: Path) -> None:
    policy = MaintenancePolicy(compact_every=10, checkpoint_every=5, vacuum_every=20)
    stats = Counters()
    table = CurrentArticles(str(tmp_path / "t"), policy=policy, stats=stats)
    truth = list(truth_at(0).values())
    files: list[tuple[int, list[str], int, int]] = []  # version, jobs done, files before and after
    for n in range(24):  # small runs: two new stories, and from the fourth on a revision of an older one
        records = [article(r, f"r{n}", 1, None, 0) for r in truth[2 * n % len(truth): 2 * n % len(truth) + 2]]
        if n >= 3:
            old = article(truth[n % 6], f"r{n}", n, None, 0)
            records.append({**old, "title": f"{old['title']} (update {n})"})
        result = table.commit_run(f"r{n}", records, [], channel="Cooperation", status="ok")
        before = len(table.open().file_uris())
        assert result.version is not None
        jobs = table.maintain(result.version).done
        files.append((result.version, jobs, before, len(table.open().file_uris())))
    for version, jobs, before, after in files:
        assert ("compact" in jobs) == (version % 10 == 0)
        assert after < before if "compact" in jobs else after == before
    assert any("compact" in jobs for _v, jobs, _b, _a in files) and stats.values["stdcrawl/table/compactions"] >= 1
    log = {p.name for p in (tmp_path / "t" / "_delta_log").iterdir()}
    checkpoints = sorted(int(name.split(".")[0]) for name in log if name.endswith(".checkpoint.parquet"))
    compactions = [v + 1 for v, jobs, _b, _a in files if "compact" in jobs]  # the version each compaction made
    # delta-rs writes one every checkpoint_every commits (versions 4, 9, ...); maintain() one after each compaction.
    assert set(checkpoints) == {v for v in range(max(checkpoints) + 1) if (v + 1) % 5 == 0} | set(compactions), checkpoints
    assert "_last_checkpoint" in log
    assert table.maintain(policy.vacuum_every).done == ["compact", "checkpoint", "vacuum"]
    assert stats.values["stdcrawl/table/files_vacuumed"] == 0  # nothing is older than the 30 days time travel keeps

    rows = {r["id"]: r for r in arrow_table(table.open()).to_pylist()}
    assert set(rows) == {r["id"] for r in truth} and rows[truth[5]["id"]]["title"].endswith("(update 23)")
    assert rows[truth[5]["id"]]["revision"] == 23
    assert current(table.at_run("r2"))[truth[4]["id"]][1] == 1  # time travel across compactions
    feed = pa.table(table.open().load_cdf(starting_version=1).read_all())
    assert feed.column("_change_type").to_pylist().count("insert") == len(truth)
    assert current(DeltaTable(table.uri)) == {i: (r["content_hash"], r["revision"]) for i, r in rows.items()}


# -- S3 ------------------------------------------------------------------------------------------------


class S3:
    """moto's S3 server on 127.0.0.1 in this process; it records the If-None-Match of every log write."""

    def __init__(self, bucket: str) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.bucket = bucket  # one per test: moto keeps its objects for the whole process
        self.lake = LakeURI.parse(f"s3://{bucket}/prod")
        self.log_writes: list[tuple[str, str | None]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.get_host_and_port()[1]}"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[S3]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "table-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = S3(re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-"))
    lock, put = threading.Lock(), S3Response.put_object

    def put_object(self: S3Response) -> Any:
        # S3 checks If-None-Match and stores the object as one step; moto does the two apart, so one at a time here.
        with lock:
            if "/_delta_log/" in self.path and self.path.split("?")[0].endswith(".json"):
                server.log_writes.append((self.path, self.headers.get("If-None-Match")))
            return put(self)

    monkeypatch.setattr(S3Response, "put_object", put_object)
    server.server.start()
    boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=server.bucket)
    yield server
    server.server.stop()


def commit_infos(s3: S3) -> dict[int, dict[str, Any]]:
    """Every commit's commitInfo, read straight off the Delta log in the bucket."""
    client = boto3.client("s3", endpoint_url=s3.endpoint)
    infos = {}
    for obj in client.list_objects_v2(Bucket=s3.bucket, Prefix="prod/stdaily/tables/articles/_delta_log/")["Contents"]:
        if obj["Key"].endswith(".json"):
            body = client.get_object(Bucket=s3.bucket, Key=obj["Key"])["Body"].read().decode()
            info = next(json.loads(line)["commitInfo"] for line in body.splitlines() if '"commitInfo"' in line)
            infos[int(obj["Key"].rsplit("/", 1)[1].split(".")[0])] = info
    return infos


def test_on_s3_a_run_commits_reads_back_and_fails_cleanly_when_s3_is_down(s3: S3, epochs: list[Any]) -> None:
    lake, settings = s3.lake, {"AWS_ENDPOINT_URL": s3.endpoint, "STDCRAWL_S3_ATTEMPTS": "2"}
    stats = Counters()
    table = CurrentArticles.in_lake(lake, settings, stats=stats)
    assert table.uri == f"s3://{s3.bucket}/prod/stdaily/tables/articles"
    for rid, articles, tombstones, *_ in epochs[:2]:
        assert table.commit_run(rid, articles, tombstones, channel="Cooperation", status="ok").committed
    assert not table.commit_run(*epochs[1][:3], channel="Cooperation", status="ok").committed
    assert current(table.open()) == epochs[1][4]
    readers = {"aws_endpoint_url": s3.endpoint, "aws_allow_http": "true", "aws_region": "us-east-1"}
    frame = pl.read_delta(table.uri, storage_options=readers)
    assert frame.height == len(epochs[1][4]) and frame.schema["published_at"] == pl.Datetime("us", "UTC")
    assert [i["stdcrawl.run_id"] for _, i in sorted(commit_infos(s3).items()) if "stdcrawl.run_id" in i] == \
        [epochs[0][0], epochs[1][0]]
    assert s3.log_writes and all(match == "*" for _path, match in s3.log_writes)  # conditional put, every time
    assert "table-secret" not in json.dumps(storage_options(lake, settings))

    s3.server.stop()
    with pytest.raises(TableWriteError) as caught:
        table.commit_run(*epochs[2][:3], channel="Cooperation", status="ok")
    assert "\n" not in str(caught.value) and f"run {epochs[2][0]} not committed" in str(caught.value)
    assert stats.values["stdcrawl/table/commit_failed"] == 1
    assert table.maintain().failed == ["open"] and stats.values["stdcrawl/table/maintenance_failed"] == 1  # never raises


class Racing(CurrentArticles):
    """A committer that, once it has read the table for a run, waits for the other one: both merge into the same
    version and race to write the next (a subclass in the test, so that the code under test carries no hook)."""

    def __init__(self, *args: Any, barrier: threading.Barrier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.barrier, self.waiting = barrier, False

    def commit_run(self, *args: Any, **kwargs: Any) -> Any:
        self.waiting = True
        return super().commit_run(*args, **kwargs)

    def ensure(self) -> DeltaTable:
        table = super().ensure()
        if self.waiting:  # the first read of each run only: a redo after a conflict goes ahead alone
            self.waiting = False
            try:
                self.barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
        return table


def test_on_s3_two_committers_at_once_both_land(s3: S3) -> None:
    """The Cooperation and the Innovation China crawls commit their runs to one table at the same moments."""
    lake, settings = s3.lake, {"AWS_ENDPOINT_URL": s3.endpoint}
    CurrentArticles.in_lake(lake, settings).ensure()
    crawls = {"Cooperation": Crawl(), "Innovation China": Crawl("Innovation China")}
    plans: dict[str, list[tuple[str, list[Any], list[Any]]]] = {}
    for channel, crawl in crawls.items():
        plans[channel] = []
        for epoch in range(4):
            articles, tombstones, _ = crawl.run(epoch, run_id(epoch, channel[:4].lower()))
            for n in range(0, len(articles), 2):  # small runs, a few per epoch
                plans[channel].append((f"{run_id(epoch, channel[:4].lower())}-{n}", articles[n:n + 2], tombstones if n == 0 else []))
    rounds = min(len(p) for p in plans.values())  # the last run of each committer takes the rest of its plan
    barrier, stats, errors = threading.Barrier(2), {c: Counters() for c in crawls}, []

    def commit(channel: str) -> None:
        table = Racing.in_lake(lake, settings, stats=stats[channel], retry_wait=0.05, barrier=barrier)
        try:
            for rid, articles, tombstones in plans[channel][:rounds - 1] + [
                    (plans[channel][rounds - 1][0], [a for p in plans[channel][rounds - 1:] for a in p[1]],
                     [t for p in plans[channel][rounds - 1:] for t in p[2]])]:
                table.commit_run(rid, articles, tombstones, channel=channel, status="ok")
        except Exception as exc:  # noqa: BLE001 - reported below, the test fails on it
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(channel,)) for channel in crawls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads), errors

    infos = commit_infos(s3)
    committed = [i["stdcrawl.run_id"] for _v, i in sorted(infos.items()) if "stdcrawl.run_id" in i]
    assert sorted(committed) == sorted(p[0] for plan in plans.values() for p in plan[:rounds])  # every run once, none lost
    assert sorted(infos) == list(range(len(infos)))  # no version written twice or skipped
    want = {i: (r["content_hash"], r["revision"]) for crawl in crawls.values() for i, r in crawl.live.items()}
    assert current(CurrentArticles.in_lake(lake, settings).open()) == want
    # Each round was a race: one of its two commits landed on top of the other (delta-rs checked them for a
    # conflict and wrote the next version: it read an older one), or conflicted and was redone on the new table.
    rebased = sum(1 for v, i in infos.items() if i.get("operation") == "MERGE" and v > i["readVersion"] + 1)
    redone = sum(stats[c].values.get("stdcrawl/table/conflicts", 0) for c in crawls)
    assert rebased + redone >= rounds, (rebased, redone, rounds)
    assert all(match == "*" for _p, match in s3.log_writes)  # every log entry written with If-None-Match: *
    print(f"{2 * rounds} runs in {rounds} races: {rebased} rebased by delta-rs, {redone} redone, "
          f"{len(s3.log_writes) - len(infos)} log writes refused by the store")
