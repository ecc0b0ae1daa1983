"""Pages read in worker processes: the same records, and a worker that dies loses no page."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FAST, ROOT, exported, warcio_records
from stdcrawl import readers
from stdcrawl.archive import Exchange, RunArchive
from stdcrawl.extract import NotAnArticle, extract_article, extract_listing
from stdcrawl.readers import ReaderCrashed, Readers
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import expected_records

PAGES = Path(__file__).parent / "pages"


def _saved_pages() -> list[dict[str, Any]]:
    return [e for e in json.loads((PAGES / "index.json").read_text(encoding="utf-8")) if e["kind"] in ("article", "list")]


def _in_process(entry: dict[str, Any], body: bytes) -> Any:
    try:
        if entry["kind"] == "list":
            return extract_listing(body, entry["url"])
        return extract_article(body, entry["url"])
    except NotAnArticle as exc:
        return ("not an article", str(exc))


async def _by_workers(pool: Readers, entry: dict[str, Any], body: bytes) -> Any:
    try:
        if entry["kind"] == "list":
            return await pool.listing(body, entry["url"])
        return await pool.article(body, entry["url"])
    except NotAnArticle as exc:
        return ("not an article", str(exc))


def test_workers_read_every_saved_page_as_the_crawler_process_does() -> None:
    entries = _saved_pages()
    bodies = [(PAGES / f"{e['name']}.html").read_bytes() for e in entries]

    async def read_all() -> list[Any]:
        pool = Readers(2)
        try:
            return await asyncio.gather(*(_by_workers(pool, e, b) for e, b in zip(entries, bodies, strict=True)))
        finally:
            pool.close()

    got = asyncio.run(read_all())
    assert len(got) == len(entries) > 20
    for entry, body, result in zip(entries, bodies, got, strict=True):
        assert result == _in_process(entry, body), entry["name"]


def test_a_worker_that_keeps_dying_is_restarted_once_then_the_page_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers._Worker, "command", ("-c", "import os; os._exit(3)"))
    deaths: list[str] = []
    page = (PAGES / "g3-web-headings.html").read_bytes()

    async def read() -> None:
        pool = Readers(1, died=deaths.append)
        try:
            await pool.article(page, "https://www.stdaily.com/web/English/2025-01/02/content_104321.html")
        finally:
            pool.close()

    with pytest.raises(ReaderCrashed, match="killed an extraction worker twice"):
        asyncio.run(read())
    assert len(deaths) == 2 and all("exit status 3" in why for why in deaths)


def test_pages_in_flight_when_a_worker_is_killed_are_read_again() -> None:
    entries = [e for e in _saved_pages() if e["kind"] == "article"]
    bodies = [(PAGES / f"{e['name']}.html").read_bytes() for e in entries]
    deaths: list[str] = []

    async def read_all() -> list[Any]:
        pool = Readers(1, died=deaths.append)
        try:
            await _by_workers(pool, entries[0], bodies[0])  # the worker is up
            worker = pool._pool[0]
            assert worker is not None
            reads = [asyncio.ensure_future(_by_workers(pool, e, b)) for e, b in zip(entries, bodies, strict=True)]
            await asyncio.sleep(0)  # every page is written to the worker's pipe
            os.kill(worker.process.pid, signal.SIGKILL)
            return await asyncio.gather(*reads)
        finally:
            pool.close()

    got = asyncio.run(read_all())
    assert got == [_in_process(e, b) for e, b in zip(entries, bodies, strict=True)]
    assert len(deaths) == 1 and "SIGKILL" in deaths[0]


def test_a_worker_builds_the_warc_records_the_writer_appends_and_a_dead_one_leaves_them_to_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    page = (PAGES / "g3-web-headings.html").read_bytes()
    url = "https://www.stdaily.com/web/English/2025-01/02/content_104321.html"
    headers = [(b"Content-Type", b"text/html; charset=utf-8")]
    exchange = Exchange(url, 200, headers, page, request_headers=[(b"User-Agent", b"stdcrawl-test")])
    edited = Exchange(url, 200, headers, page + b"<!-- edited -->", ip_address="127.0.0.1")
    deaths: list[str] = []

    async def encode(workers: int, target: str) -> Any:
        pool = Readers(workers, died=deaths.append)
        try:
            return await pool.encode(edited, target, 6)
        finally:
            pool.close()

    with RunArchive(tmp_path, dt="2026-12-01", run_id="r1", roll_size=10**6) as archive:
        archive.write(exchange)  # the file is begun
        built = asyncio.run(encode(1, archive.warcinfo_id))
        assert built is not None and not deaths
        stored = archive.write(edited, encoded=built)
    data = (tmp_path / stored.key).read_bytes()
    assert stored.record_id == built.response_id
    assert data[stored.offset - len(built.request):stored.offset + len(built.response)] == built.request + built.response
    records = warcio_records(Path(archive.files[0].path))  # warcio, digests checked, judges what the worker built
    assert [r["payload"] for r in records if r["type"] == "response"] == [page, edited.body]
    assert {r["headers"]["WARC-Warcinfo-ID"] for r in records[1:]} == {records[0]["headers"]["WARC-Record-ID"]}
    assert records[-1]["headers"]["WARC-IP-Address"] == "127.0.0.1"

    assert asyncio.run(encode(0, archive.warcinfo_id)) is None  # no workers: the writer builds them

    async def broken() -> Any:  # an error in the worker other than a death (here fastwarc's level check): one line
        pool = Readers(1, died=deaths.append)
        try:
            return await pool.encode(edited, archive.warcinfo_id, 0)
        finally:
            pool.close()

    with caplog.at_level(logging.WARNING, logger="stdcrawl.readers"):
        assert asyncio.run(broken()) is None and not deaths
    assert [r.getMessage() for r in caplog.records] == [
        f"A worker could not build the WARC records of {url} (ValueError: archive compression level 0 is not 1-9); "
        "the crawler builds them"]
    monkeypatch.setattr(readers._Worker, "command", ("-c", "import os; os._exit(3)"))
    assert asyncio.run(encode(1, archive.warcinfo_id)) is None  # nor a page lost to a worker that keeps dying
    assert len(deaths) == 2 and all("exit status 3" in why for why in deaths)


def _workers_of(pid: int) -> list[int]:
    """The extraction workers among a process's children (Linux /proc)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"stdcrawl.readers" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except OSError:
            continue
    return found


@pytest.fixture
def slow_replica() -> Iterator[ReplicaServer]:
    with ReplicaServer(ReplicaConfig(articles=120)) as server:
        yield server


def _start_crawl(data: Path, site_url: str) -> subprocess.Popen[str]:
    settings = {**FAST, "CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "DOWNLOAD_DELAY": "0.02",
                "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data), "STDCRAWL_EXTRACT_WORKERS": "1",
                "STDCRAWL_STATS_FILE": str(data.parent / "stats.json")}
    cmd = [sys.executable, "-m", "stdcrawl", "crawl"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _first_worker(crawl: subprocess.Popen[str], replica: ReplicaServer, after_requests: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and crawl.poll() is None:
        workers = _workers_of(crawl.pid)
        if workers and len(replica.requests) >= after_requests:
            return workers[0]
        time.sleep(0.02)
    raise AssertionError("the crawl never started an extraction worker")


def test_a_crawl_whose_worker_is_killed_exports_every_article_and_says_so(tmp_path: Path, slow_replica: ReplicaServer) -> None:
    data = tmp_path / "data"
    crawl = _start_crawl(data, slow_replica.url)
    os.kill(_first_worker(crawl, slow_replica, after_requests=40), signal.SIGKILL)  # as the kernel's OOM killer does
    output, _ = crawl.communicate(timeout=180)
    assert crawl.returncode == 0, output[-3000:]
    assert output.count("an extraction worker died (killed by SIGKILL)") == 1
    truth = {r["url"] for r in expected_records(slow_replica.model)}
    assert {r["url"] for r in exported(data, "articles")} == truth
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["stdcrawl/extract/worker_died"] == 1


def test_a_killed_crawler_leaves_no_worker_behind(tmp_path: Path, slow_replica: ReplicaServer) -> None:
    crawl = _start_crawl(tmp_path / "data", slow_replica.url)
    worker = _first_worker(crawl, slow_replica, after_requests=10)
    crawl.kill()
    crawl.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
        if Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break  # exited; only the dead crawler would have reaped it
        time.sleep(0.05)
    alive = Path(f"/proc/{worker}").exists() and Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    assert not alive, "the extraction worker outlived its crawler"
