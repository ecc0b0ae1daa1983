"""Shared fixtures: a replica served on 127.0.0.1, and a real `scrapy crawl` against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from stdcrawl.lake.stores import LocalStore
from stdcrawl.lake.verify import records
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer

ROOT = Path(__file__).resolve().parent.parent

# The replica is our own server on loopback: politeness delays off, as in the README's test runs.
FAST = {
    "CONCURRENT_REQUESTS": "8",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "LOG_LEVEL": "INFO",
}


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    """A fresh default replica (300 Cooperation articles, seed 1) for one test."""
    with ReplicaServer(ReplicaConfig()) as server:
        yield server


@dataclass
class CrawlResult:
    returncode: int
    items: list[dict[str, Any]]
    stats: dict[str, Any]
    log: str
    out: Path


def run_crawl(
    spider: str,
    tmp_path: Path,
    *args: str,
    site_url: str | None = None,
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> CrawlResult:
    """Run `scrapy crawl SPIDER` in a subprocess from the project directory."""
    out = tmp_path / "out.jsonl"
    stats_file = tmp_path / "stats.json"
    merged = {**FAST, "STDCRAWL_STATS_FILE": str(stats_file), "STDCRAWL_DATA_DIR": str(tmp_path / "data")}
    if site_url:
        merged["STDCRAWL_SITE_URL"] = site_url
    merged.update(settings or {})
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-O", str(out)]
    for name, value in merged.items():
        cmd += ["-s", f"{name}={value}"]
    cmd += list(args)
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    items = [json.loads(line) for line in out.read_bytes().split(b"\n") if line] if out.exists() else []
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
    return CrawlResult(proc.returncode, items, stats, proc.stderr + proc.stdout, out)


@dataclass
class Run:
    returncode: int
    stats: dict[str, Any]
    output: str


def stdcrawl_crawl(
    data_dir: Path, *args: str, site_url: str, now: str | None = None, settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run `stdcrawl crawl ...` (the scheduled entry point) in a subprocess, with default feeds under data_dir."""
    stats_file = data_dir.parent / f"stats-{len(list(data_dir.parent.glob('stats-*.json')))}.json"
    merged = {**FAST, "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data_dir), "STDCRAWL_STATS_FILE": str(stats_file)}
    if now:
        merged["STDCRAWL_NOW"] = now
    merged.update(settings or {})
    cmd = [sys.executable, "-m", "stdcrawl", "crawl", *args]
    for name, value in merged.items():
        cmd += ["-s", f"{name}={value}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
    return Run(proc.returncode, stats, proc.stdout + proc.stderr)


def leaks(secret: str, run: Run, where: Path) -> list[str]:
    """Where a secret shows up among every output of a run: its log, its stats, every file under ``where``."""
    found = ["output"] * (secret in run.output) + ["stats"] * (secret in json.dumps(run.stats))
    return found + [str(p) for p in where.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def exported(data_dir: Path, dataset: str) -> list[dict[str, Any]]:
    """Every record of one dataset in the lake under data_dir, from finished runs, in run order."""
    return list(records(LocalStore(data_dir / "lake"), dataset))


def arrow_table(table: Any, columns: list[str] | None = None, partitions: list[tuple[str, str, Any]] | None = None) -> Any:
    """A Delta table read into Arrow without pyarrow's scanner threads, which can outlive the interpreter and abort
    the process at exit (apache/arrow#34314, delta-io/delta-rs#2184)."""
    return table.to_pyarrow_dataset(partitions=partitions).to_table(columns=columns, use_threads=False)


def warcio_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a file as warcio reads it, digests checked by warcio."""
    out = []
    with path.open("rb") as stream:
        records = ArchiveIterator(stream, check_digests="raise")
        for record in records:
            http = record.http_headers
            payload = record.raw_stream.read() if http is not None else record.content_stream().read()
            out.append({
                # Asked after the payload is read: warcio's offset call reads the record to its end.
                "offset": records.get_record_offset(),
                "type": record.rec_type,
                "headers": dict(record.rec_headers.headers),
                "all_headers": record.rec_headers.headers,
                "http": http,
                "payload": payload,
            })
    return out
