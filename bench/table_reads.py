"""Table reads: what N hourly runs leave behind in the current-articles Delta table, per partitioning, with and without maintenance.

A first run exports an archive (the stories of a default replica, every
channel, 2021-2026); then N-1 hourly runs (default 1,000 in all) each commit a
few records, as a scheduled crawl of the whole English edition would: one to
three, most of them new stories published that hour, some revisions of a
story of the last three days, now and then a removal. Records are replica
truth records (real sizes: text, body, images, provenance), new stories being
copies of them under new ids and times.

For each partitioning (none, year, month, channel, year and channel) the same
runs go to two local tables: one left to delta-rs's defaults ("unmaintained":
no compaction, a checkpoint every 100 commits), one under stdcrawl's
maintenance policy (``CurrentArticles.maintain`` after each commit: compaction
and a checkpoint every 24 commits, vacuum every 168). Figures per table: data
files a reader opens, files and bytes on disk (data, change feed and log;
vacuum deletes nothing here, as every removed file is younger than its 30 days
of time travel), milliseconds per commit (mean, p95, maintenance included),
and milliseconds to read the whole table and one publication year (2024, by
``published_year``: a partition filter or file statistics) with deltalake,
median of 3 fresh loads. Every figure is also given as a ratio against the
unpartitioned, unmaintained table, measured in the same process.

    python bench/table_reads.py [--runs 1000] [--partitionings none,year,month,channel,year_channel] [--seed 1]

About 50 minutes on 2 cores at the defaults (ten tables of 1,000 commits; the unmaintained ones slow down as
their files pile up). The table goes to stderr in Markdown, the figures to stdout and bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa
from _common import report
from deltalake import DeltaTable

from stdcrawl.table import PARTITIONINGS, CurrentArticles, MaintenancePolicy

START = dt.datetime(2026, 11, 21, 0, 17, tzinfo=dt.UTC)  # the first hourly run: the day after the replica's last
BEIJING = dt.timezone(dt.timedelta(hours=8))
UNMAINTAINED = MaintenancePolicy(checkpoint_every=100)  # delta-rs's own checkpoint interval; maintain() never called
READ_YEAR = 2024


def archive() -> list[dict[str, Any]]:
    """Every story of a default replica, as the first full run exports it (truth plus the crawl's fields)."""
    from stdcrawl.replica.model import ReplicaConfig, SiteModel
    from stdcrawl.replica.truth import expected_records

    model = SiteModel(ReplicaConfig())
    records = []
    for channel in ("Cooperation", "Innovation China", "Comment"):
        records += [crawled(r, "run-0000", START) for r in expected_records(model, channel)]
    return records


def crawled(truth: dict[str, Any], run_id: str, at: dt.datetime, revision: int = 1, previous: str | None = None) -> dict[str, Any]:
    record = {k: v for k, v in truth.items() if k != "generation"}
    generation = truth.get("generation", "G3")
    digest = hashlib.sha256(f"{truth['id']}/{run_id}".encode()).hexdigest()
    path = record["url"].split("/", 3)[3]
    record.update(
        fetched_url=f"https://www.stdaily.com/{path}", crawled_at=at.isoformat(), parser=f"{generation}/text-v1/selectors",
        template=digest[:16], charset="utf-8", replacement_chars=0, run_id=run_id,
        provenance=[{"url": f"https://www.stdaily.com/{path}", "warc": f"stdaily/warc/dt={at:%Y-%m-%d}/run={run_id}/00000.warc.gz",
                     "offset": 4096, "record_id": f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>",
                     "payload_digest": "sha1:" + "A" * 32}],
        fingerprint=digest[:16], revision=revision, previous_content_hash=previous, deleted=False, schema_version=2,
    )
    return record


def simulate(runs: int, seed: int) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """The runs: (run id, articles, tombstones), the same for every table."""
    rng = random.Random(seed)
    first = archive()
    plan = [("run-0000", first, [])]
    pool = list(first)  # shapes to copy new stories from
    live = {r["id"]: r for r in first}
    next_id = 700000
    for n in range(1, runs):
        at = START + dt.timedelta(hours=n)
        rid = f"run-{n:04d}"
        articles, tombstones = [], []
        young = [r for r in live.values() if r["published_at"] >= (at - dt.timedelta(days=3)).astimezone(BEIJING).isoformat()]
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.62 or not young:
                shape = rng.choice(pool)
                published = at.astimezone(BEIJING).replace(minute=rng.randrange(60), second=rng.randrange(60))
                story = {**shape, "id": f"stdaily:{next_id}", "published_at": published.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                         "url": f"https://www.stdaily.com/web/English/{published:%Y-%m/%d}/content_{next_id}.html", "aliases": [],
                         "title": f"{shape['title']} ({next_id})"}
                next_id += 1
                articles.append(crawled(story, rid, at))
            elif roll < 0.97:
                old = rng.choice(young)
                body = [*old["body"][:-1], {**old["body"][-1], "paragraphs": [*old["body"][-1]["paragraphs"], f"Update {n}."]}]
                articles.append(crawled({**old, "body": body}, rid, at, old["revision"] + 1, old["content_hash"]))
            else:
                old = young.pop(rng.randrange(len(young)))
                if old["id"] in live and not any(a["id"] == old["id"] for a in articles):
                    tombstones.append({"id": old["id"], "url": old["url"], "aliases": old["aliases"], "channel": old["channel"],
                                       "http_status": 404, "crawled_at": at.isoformat(), "revision": old["revision"] + 1,
                                       "previous_content_hash": old["content_hash"], "run_id": rid, "deleted": True,
                                       "schema_version": 2})
        seen = {}
        for record in articles:
            seen[record["id"]] = record
        articles = list(seen.values())
        for record in articles:
            live[record["id"]] = record
        for stone in tombstones:
            live.pop(stone["id"], None)
        plan.append((rid, articles, tombstones))
    return plan


def disk(path: Path) -> tuple[int, int, int]:
    files = sizes = logs = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            files += 1
            sizes += os.path.getsize(os.path.join(root, name))
            logs += "_delta_log" in root
    return files, sizes, logs


def measure(plan: list[Any], partitioning: str, maintained: bool, tmp: Path) -> dict[str, Any]:
    path = tmp / f"{partitioning}-{'maintained' if maintained else 'unmaintained'}"
    table = CurrentArticles(str(path), partitioning=partitioning, policy=MaintenancePolicy() if maintained else UNMAINTAINED)
    commit_ms = []
    for rid, articles, tombstones in plan:
        started = time.perf_counter()
        result = table.commit_run(rid, articles, tombstones, channel=None, status="ok")
        if maintained and result.version is not None:
            table.maintain(result.version)
        commit_ms.append((time.perf_counter() - started) * 1000)
    hourly = commit_ms[1:]  # the archive's first run is not an hourly one
    files, size, logs = disk(path)
    snapshot = DeltaTable(str(path))
    active = pa.table(snapshot.get_add_actions(flatten=True))
    active_bytes = sum(active.column("size_bytes").to_pylist())
    read_all, read_year, rows, year_rows = [], [], 0, 0
    for _ in range(3):
        started = time.perf_counter()
        rows = DeltaTable(str(path)).to_pyarrow_dataset().to_table(use_threads=False).num_rows
        read_all.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        year_rows = DeltaTable(str(path)).to_pyarrow_dataset(partitions=[("published_year", "=", READ_YEAR)]).to_table(use_threads=False).num_rows
        read_year.append((time.perf_counter() - started) * 1000)
    return {
        "partitioning": partitioning, "maintained": maintained, "rows": rows, "year_rows": year_rows,
        "data_files": len(snapshot.file_uris()), "data_mb": round(active_bytes / 2**20, 2),
        "files_on_disk": files, "log_files": logs, "mb_on_disk": round(size / 2**20, 2),
        "commit_ms_mean": round(statistics.fmean(hourly), 1),
        "commit_ms_p95": round(sorted(hourly)[int(len(hourly) * 0.95)] if hourly else 0, 1),
        "read_all_ms": round(statistics.median(read_all), 1), "read_year_ms": round(statistics.median(read_year), 1),
    }


RATIOS = ("data_files", "files_on_disk", "mb_on_disk", "commit_ms_mean", "read_all_ms", "read_year_ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="runs in all, the archive's first run included (1,000)")
    parser.add_argument("--partitionings", default=",".join(PARTITIONINGS), help="comma-separated: " + ", ".join(PARTITIONINGS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    chosen = [p.strip() for p in args.partitionings.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PARTITIONINGS]
    if unknown or args.runs < 2:
        parser.error(f"unknown partitioning {', '.join(unknown)}" if unknown else "--runs must be at least 2")
    if "none" not in chosen:
        chosen.insert(0, "none")  # the baseline
    plan = simulate(args.runs, args.seed)
    records = sum(len(a) + len(t) for _rid, a, t in plan[1:])
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for partitioning in chosen:
            for maintained in (False, True):
                rows.append(measure(plan, partitioning, maintained, Path(tmp)))
                print(_line(rows[-1]), file=sys.stderr, flush=True)
    base = rows[0]
    for row in rows:
        row["vs_baseline"] = {k: round(row[k] / base[k], 3) if base[k] else None for k in RATIOS}
    print(_table(rows), file=sys.stderr)
    report("table_reads", {"runs": args.runs, "hourly_records": records, "archive": len(plan[0][1]),
                           "read_year": READ_YEAR, "tables": rows})


def _line(row: dict[str, Any]) -> str:
    return (f"{row['partitioning']:>12} {'maintained' if row['maintained'] else 'unmaintained':>12}: {row['data_files']} data files, "
            f"{row['files_on_disk']} on disk ({row['mb_on_disk']} MB), commit {row['commit_ms_mean']} ms, "
            f"read all {row['read_all_ms']} ms, a year {row['read_year_ms']} ms")


def _table(rows: list[dict[str, Any]]) -> str:
    head = "| partitioning | maintenance | data files | files on disk | MB on disk | ms/commit (p95) | read all ms | read a year ms |"
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        v = r["vs_baseline"]
        lines.append(
            f"| {r['partitioning']} | {'policy' if r['maintained'] else 'none'} | {r['data_files']} ({v['data_files']}x) | "
            f"{r['files_on_disk']} ({v['files_on_disk']}x) | {r['mb_on_disk']} ({v['mb_on_disk']}x) | "
            f"{r['commit_ms_mean']} ({r['commit_ms_p95']}) ({v['commit_ms_mean']}x) | {r['read_all_ms']} ({v['read_all_ms']}x) | "
            f"{r['read_year_ms']} ({v['read_year_ms']}x) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
