"""`stdcrawl reextract`: the archive read again with no site to talk to, and drift repaired from it.

The site is gone in these tests (the replica stopped) and every request the
crawler could make goes to a proxy that counts connections: none may come.
What the records should be comes from the replica's model (its truth) and
from the first crawl's own records.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST, ROOT, Run, exported, stdcrawl_crawl
from misread import MISREAD

from stdcrawl.archive import Copy, Exchange, RunArchive
from stdcrawl.archive.index import ArchiveIndex
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records

# Fields a run sets for itself: everything else is what the pages say.
RUN_FIELDS = ("crawled_at", "run_id")


class DeadProxy:
    """A listening socket that answers nothing and counts who connects: ``http_proxy`` for a run that must send nothing."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()

    @property
    def env(self) -> dict[str, str]:
        return {"http_proxy": self.url, "https_proxy": self.url, "HTTP_PROXY": self.url, "HTTPS_PROXY": self.url}


@pytest.fixture
def proxy() -> Iterator[DeadProxy]:
    found = DeadProxy()
    yield found
    found.close()


def reextract(data: Path, *args: str, proxy: DeadProxy, settings: dict[str, str] | None = None) -> Run:
    """`stdcrawl reextract ...` in a subprocess, every request it could make sent to the dead proxy."""
    stats_file = data.parent / f"stats-re-{len(list(data.parent.glob('stats-re-*.json')))}.json"
    merged = {"STDCRAWL_DATA_DIR": str(data), "STDCRAWL_STATS_FILE": str(stats_file), "LOG_LEVEL": "INFO", **(settings or {})}
    cmd = [sys.executable, "-m", "stdcrawl", "reextract", *args] + [a for k, v in merged.items() for a in ("-s", f"{k}={v}")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, env={**os.environ, **proxy.env})
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
    return Run(proc.returncode, stats, proc.stdout + proc.stderr)


def verify(lake: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", str(lake)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def run_id_of(stats: dict[str, Any]) -> str:
    return str(stats["stdcrawl/lake/run_folder"]).rstrip("/").rsplit("run=", 1)[1]


@dataclass
class Crawled:
    data: Path
    truth: list[dict[str, Any]]
    records: list[dict[str, Any]]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """One crawl of a replica that is then stopped for good."""
    data = tmp_path_factory.mktemp("crawled") / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url)
        assert run.returncode == 0, run.output[-3000:]
        truth = expected_records(replica.model)
    return Crawled(data, truth, exported(data, "articles"))


def test_reextract_rebuilds_every_record_from_the_archive_alone_and_sends_nothing(
    crawled: Crawled, tmp_path: Path, proxy: DeadProxy
) -> None:
    fresh = tmp_path / "data"
    run = reextract(fresh, "--warc", str(crawled.data / "lake" / "stdaily" / "warc"), proxy=proxy)
    assert run.returncode == 0, run.output[-4000:]
    records = exported(fresh, "articles")
    assert compare(records, crawled.truth).ok
    # The same records as the crawl's, provenance and fetched URLs included; only the run's own fields differ.
    ours = {r["id"]: {k: v for k, v in r.items() if k not in RUN_FIELDS} for r in records}
    theirs = {r["id"]: {k: v for k, v in r.items() if k not in RUN_FIELDS} for r in crawled.records}
    assert ours == theirs
    assert all(r["run_id"] == run_id_of(run.stats) for r in records)
    # Nothing left the process: no connection to the proxy, no download, nothing refused at the handler.
    assert proxy.connections == 0
    assert run.stats.get("downloader/request_count", 0) == 0 and "stdcrawl/reextract/refused" not in run.stats
    # Every page came from the archive (retries and redirect hops included): as many as the crawl downloaded.
    assert run.stats["stdcrawl/reextract/answered"] == run.stats["downloader/response_count"] > len(records)
    assert "no request sent" in run.output
    # The fresh lake holds the WARC files its records name, and verifies.
    proc = verify(fresh / "lake")
    assert proc.returncode == 0, proc.stdout
    assert run.stats["stdcrawl/archive/files_imported"] == 1 and "archive: 1 WARC files listed and checked" in proc.stdout

    again = reextract(fresh, "--warc", str(crawled.data / "lake" / "stdaily" / "warc"), proxy=proxy)
    assert again.returncode == 0, again.output[-3000:]
    assert again.stats.get("item_scraped_count", 0) == 0  # unchanged stories export nothing
    assert again.stats["stdcrawl/state/unchanged"] == len(records)
    assert "stdcrawl/archive/files_imported" not in again.stats and proxy.connections == 0


def test_a_misread_redesign_is_repaired_from_the_archive_once_per_affected_story(tmp_path: Path, proxy: DeadProxy) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40, markup="redesign")) as replica:
        settings = {**FAST, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data)}
        cmd = [sys.executable, "tests/misread.py", "--"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        crawl = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert "Spider closed (finished)" in crawl.stderr, crawl.stderr[-3000:]
        truth = {r["id"]: r for r in expected_records(replica.model)}
    misread = {r["id"]: r for r in exported(data, "articles")}
    assert set(misread) == set(truth) and all(MISREAD in r["parser"] and r["byline"] is None for r in misread.values())
    affected = {i for i, r in truth.items() if r["byline"] is not None}
    assert 0 < len(affected) < len(truth)
    failed_run = next(iter(misread.values()))["run_id"]

    run = reextract(data, "--runs", failed_run, proxy=proxy)
    assert run.returncode == 0, run.output[-4000:]
    repaired = [r for r in exported(data, "articles") if r["run_id"] == run_id_of(run.stats)]
    assert sorted(r["id"] for r in repaired) == sorted(affected)  # each affected story once, the others nothing
    assert compare(repaired, [truth[i] for i in affected]).ok
    for record in repaired:
        assert record["revision"] == 2 and record["previous_content_hash"] == misread[record["id"]]["content_hash"]
        assert MISREAD not in record["parser"] and record["parser"].split("/", 1)[0] == truth[record["id"]]["generation"]
        assert record["provenance"] == misread[record["id"]]["provenance"]  # the pages the failed run fetched
    assert run.stats["stdcrawl/state/revised"] == len(affected)
    assert run.stats["stdcrawl/state/unchanged"] == len(truth) - len(affected)
    assert proxy.connections == 0 and run.stats.get("downloader/request_count", 0) == 0
    assert verify(data / "lake").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "20990101T000000Z-abcdef"], "run 20990101T000000Z-abcdef is not in the lake at"),
        (["--warc", "/nonexistent/00000.warc.gz"], "--warc /nonexistent/00000.warc.gz: no such file or folder"),
        (["--warc", "tests/pages/gbk.html"], "not a file of a stdcrawl archive"),
        (["--since", "2026-13-01"], "'2026-13-01' is not a day"),
        (["-a", "full_refresh=false"], "-a full_refresh cannot be turned off"),
        ([], "nothing to re-extract: the lake at"),
    ],
)
def test_bad_usage_is_one_line_and_status_2(crawled: Crawled, tmp_path: Path, proxy: DeadProxy, args: list[str],
                                             message: str) -> None:
    lake = {"STDCRAWL_LAKE_URI": str(crawled.data / "lake")} if args[:1] == ["--runs"] else {}
    run = reextract(tmp_path / "data", *args, proxy=proxy, settings=lake)
    assert run.returncode == 2, run.output[-2000:]
    assert message in run.output and "Traceback" not in run.output


def test_the_index_serves_each_page_s_latest_answer_passing_over_server_errors(tmp_path: Path) -> None:
    """Hand-made runs: what each URL answered, in order; the index's choice is held against that."""
    site = "https://www.stdaily.com"
    page = b"<html><body>" + b"a story " * 50 + b"</body></html>"
    other = b"<html><body>" + b"another story " * 50 + b"</body></html>"
    html = [(b"Content-Type", b"text/html; charset=utf-8")]
    when = [dt.datetime(2026, 11, d, 2, tzinfo=dt.UTC) for d in (20, 21)]
    answers = [  # run, URL path, status, body, extra headers
        (0, "/a.html", 200, page, []), (0, "/b.html", 200, other, []), (0, "/c.html", 200, page, []),
        (1, "/a.html", 503, b"busy", []), (1, "/a.html", 500, b"broken", []),  # the site failed: a's copy stays
        (1, "/b.html", 404, b"gone", []),  # removed: an answer
        (1, "/c.html", 200, page, [(b"X-Again", b"1")]),  # unchanged: a revisit, its own headers
        (1, "/d.html", 500, b"broken", []),  # never answered otherwise: served as it was
    ]
    last: dict[str, Copy] = {}
    files: list[tuple[str, Path]] = []
    for run in (0, 1):
        with RunArchive(tmp_path, dt=f"2026-11-{20 + run}", run_id=f"run-{run}", roll_size=1 << 20) as archive:
            for _, path, status, body, extra in [a for a in answers if a[0] == run]:
                stored = archive.write(Exchange(site + path, status, html + extra, body, date=when[run]), last.get(path))
                last[path] = stored.copy
        files += [(f.key, Path(f.path)) for f in archive.files]
    index = ArchiveIndex(files)
    a, b, c, d = (index.get(f"http://127.0.0.1:8000/{n}.html") for n in "abcd")  # any host: pages go by path
    assert a is not None and (a.status, index.body(a)) == (200, page) and a.copy.key == files[0][0]
    assert b is not None and (b.status, index.body(b)) == (404, b"gone")
    assert c is not None and c.revisit and (c.status, index.body(c)) == (200, page)
    assert (b"X-Again", b"1") in c.headers and c.copy.key == files[0][0]  # the bytes' record: the original
    assert d is not None and (d.status, index.body(d)) == (500, b"broken")
    assert index.get(site + "/e.html") is None and index.pages == 4
