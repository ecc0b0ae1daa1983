"""Faults, crashes and hostile input: nothing lost, nothing duplicated, nothing off-site."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from conftest import FAST, ROOT, exported, leaks, stdcrawl_crawl

from stdcrawl.extract import NotAnArticle, extract_article
from stdcrawl.replica import render
from stdcrawl.replica.model import FAULTS, ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer, Router
from stdcrawl.replica.truth import compare, expected_records
from stdcrawl.state import StateStore
from stdcrawl.urls import CANONICAL_BASE

# Faults that hit single articles; robots-channel stops the whole crawl and has its own test.
PAGE_FAULTS = tuple(f for f in FAULTS if f != "robots-channel")
FAULT_SETTINGS = {"DOWNLOAD_TIMEOUT": "1", "DOWNLOAD_MAXSIZE": str(1024 * 1024)}


PROXY_SECRET = "proxy-pw-" + os.urandom(6).hex()


def proxy_tap(replica: ReplicaServer) -> dict[str, str]:
    """Every request goes through the replica (as a proxy with a password): one for another host shows in its log."""
    proxy = f"http://stdcrawl:{PROXY_SECRET}@{replica.netloc}"
    return {"http_proxy": proxy, "https_proxy": proxy, "no_proxy": ""}


def off_site(replica: ReplicaServer) -> list[str]:
    tapped = [r.target for r in replica.requests if r.target.startswith("http")]
    assert len(tapped) == len(replica.requests), "some requests bypassed the proxy tap"
    return [t for t in tapped if replica.netloc not in t]


def test_every_fault_then_healed_exports_each_article_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=80, faults=PAGE_FAULTS, stall_seconds=2)
    with ReplicaServer(config) as replica:
        faulty = replica.model.faulty
        run = stdcrawl_crawl(data, site_url=replica.url, settings=FAULT_SETTINGS, env=proxy_tap(replica))
        assert off_site(replica) == []
    assert run.returncode in (0, 1) and "Traceback" not in run.output, run.output[-3000:]
    stats = run.stats
    got = {r["url"] for r in exported(data, "articles")}
    transient = {"5xx", "5xx-retry-after", "429", "reset", "stall", "short", "truncated", "empty", "charset", "malformed"}
    for path, fault in faulty.items():
        assert (CANONICAL_BASE + path in got) == (fault in transient), (fault, path)
    assert stats["stdcrawl/retry_after/waits"] >= 4  # 5xx-retry-after twice, 429 once, on two pages each
    assert stats["stdcrawl/download/damaged/empty"] >= 2 and stats["stdcrawl/download/damaged/truncated"] >= 2
    assert any(k.startswith("stdcrawl/spider/articles/failed/") for k in stats)
    # What failed is pending: the next run fetches it again, whatever the lists show.
    store = StateStore(data / "state.sqlite")
    pending = {url for url, _ in store.pending("Cooperation")}
    store.close()
    assert {CANONICAL_BASE + p for p, f in faulty.items() if f not in transient} <= pending
    # ... and the run's report says so, by kind.
    assert f"pending       {len(pending)} articles not got, fetched again by the next run" in run.output
    for reason in ("redirect_loop", "redirect_offsite", "too_large"):
        assert f"articles/{reason} " in run.output, reason
    assert stats["stdcrawl/spider/articles/failed/too_large"] == 5  # oversized pages, gzip bombs, the 5 MB of divs
    assert leaks(PROXY_SECRET, run, tmp_path) == []

    healed = ReplicaConfig(articles=80)
    with ReplicaServer(healed) as replica:
        again = stdcrawl_crawl(data, site_url=replica.url, env=proxy_tap(replica))
        assert off_site(replica) == []
        truth = expected_records(replica.model)
    assert again.returncode == 0, again.output[-3000:]
    comparison = compare(exported(data, "articles"), truth)
    assert comparison.ok, comparison.summary()


def test_a_robots_txt_that_forbids_the_channel_is_obeyed_and_said(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=30, faults=("robots-channel",))) as replica:
        run = stdcrawl_crawl(tmp_path / "data", site_url=replica.url)
        fetched = [r.target for r in replica.requests]
    assert run.returncode == 1
    assert "robots.txt forbids the list page" in run.output
    assert "FAILED: robots.txt forbids 2 of the channel's list pages" in run.output
    assert not [t for t in fetched if "common_list" in t or "node_" in t]
    assert exported(tmp_path / "data", "articles") == []


POINTS = ("fetch", "export", "upload", "commit", "finish")


def test_kill_9_anywhere_then_a_normal_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    seeds = int(os.environ.get("STDCRAWL_KILL_SEEDS", "8"))
    deadline = time.monotonic() + 240
    figures = []
    with ReplicaServer(ReplicaConfig(articles=50, others=5)) as replica:
        truth = expected_records(replica.model)
        for seed in range(seeds):
            if time.monotonic() > deadline:
                break
            r = random.Random(seed)
            point = POINTS[seed % len(POINTS)]
            n = r.randint(1, {"fetch": 40, "export": 40, "upload": 6, "commit": 5, "finish": 4}[point])
            data = tmp_path / f"seed-{seed}"
            settings = {**FAST, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data), "STDCRAWL_LAKE_BATCH_ITEMS": "8"}
            cmd = [sys.executable, str(ROOT / "tests" / "crash.py"), point, str(n), "--"]
            cmd += [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
            crashed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
            after = stdcrawl_crawl(data, site_url=replica.url)
            records = exported(data, "articles")
            comparison = compare(records, truth)
            verify = subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", str(data / "lake")],
                                    cwd=ROOT, capture_output=True, text=True, timeout=60)
            figures.append((point, n, crashed.returncode, after.returncode, len(records), verify.returncode))
            assert after.returncode == 0, (point, n, after.output[-3000:])
            assert comparison.ok, (point, n, comparison.summary())
            assert verify.returncode == 0, (point, n, verify.stdout)
            StateStore(data / "state.sqlite").close()  # the state opens
    print("\npoint   n  killed  after  records  verify")
    for row in figures:
        print("{:<7} {:>2}  {:>6}  {:>5}  {:>7}  {:>6}".format(*row))
    assert len(figures) >= min(seeds, 5)
    assert [row for row in figures if row[2] != -signal.SIGKILL] == []  # every run died where it was asked to


def test_a_crawl_opens_no_listening_socket(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=30)) as replica:
        settings = {**FAST, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(tmp_path / "data"), "DOWNLOAD_DELAY": "0.05",
                    "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
        cmd = [sys.executable, "-m", "stdcrawl", "crawl"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(replica.requests) < 15:
            assert proc.poll() is None
            time.sleep(0.05)
        inodes = set()
        for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        listening = []
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{proc.pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    listening.append(fields[1])
        proc.wait(timeout=60)
    assert inodes, "the crawl had no socket open at all: it was not looked at while running"
    assert listening == []  # no telnet console, no remote control server


@pytest.mark.parametrize(
    "setting",
    ["STDCRAWL_RUN_ID=../../etc", "STDCRAWL_JOB=../../tmp/x", "STDCRAWL_RUN_ID=a/b", "STDCRAWL_LAKE_URI=s3://k:s@bucket/x"],
)
def test_values_that_reach_file_names_are_validated(setting: str, tmp_path: Path) -> None:
    name, value = setting.split("=", 1)
    run = stdcrawl_crawl(tmp_path / "data", site_url="http://127.0.0.1:9", settings={name: value})
    assert run.returncode == 2, run.output[-2000:]
    assert "Bad usage" in run.output and "Traceback" not in run.output
    assert not (tmp_path / "etc").exists() and not (tmp_path / "tmp").exists()


@pytest.mark.parametrize("args", [["../../etc"], ["-a", "since=../../etc"], ["-a", "channel=../x"]])
def test_arguments_that_could_reach_paths_are_refused(args: list[str], tmp_path: Path) -> None:
    run = stdcrawl_crawl(tmp_path / "data", *args, site_url="http://127.0.0.1:9")
    assert run.returncode == 2, run.output[-2000:]


HOSTILE = {
    "nested divs, 5 MB": render.nested_divs_page(),
    "NUL bytes and unclosed tags": "<html><body>\x00<div><p>position: EnglishChannel > Cooperation > Article<p>Title"
    "<p>Source: X | 2024-05-08 14:33:37 | Author: Y<p>" + "Body text goes on here. " * 20 + "\x00<p><b><i>" * 3000 + "</html>",
    "deep tables": "<html><body>" + "<table><tr><td>" * 20000 + "x</body></html>",
    "a huge attribute": "<html><body><p title='" + "a" * 3_000_000 + "'>x</p></body></html>",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_no_page_makes_extraction_hang_or_blow_memory(name: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    with contextlib.suppress(NotAnArticle):
        extract_article(HOSTILE[name], "https://www.stdaily.com/web/English/2024-05/08/content_123456.html")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 3, elapsed
    assert peak < 200 * 1024 * 1024, peak


def test_the_lake_never_carries_html_or_script_from_the_site() -> None:
    model = SiteModel(ReplicaConfig(articles=20))
    story = next(s for s in model.live_stories("Cooperation") if "G3" in s.paths and s.layout == "standard")
    html = Router(model).route(story.paths["G3"]).body.decode()
    html = html.replace("</h2>", " &lt;script&gt;alert(1)&lt;/script&gt;</h2>", 1).replace(
        "<p>", '<p onclick="alert(2)">&lt;img src=x onerror=alert(3)&gt; ', 1
    )
    record = extract_article(html, CANONICAL_BASE + story.paths["G3"]).to_dict()
    text = str(record)
    assert "<script" not in text and "<img" not in text and "onerror" not in text and "onclick" not in text
    assert all(str(image["url"]).startswith("https://") for image in record["images"])


def test_the_state_opens_after_the_last_run_died_mid_commit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=20, others=3)) as replica:
        settings = {**FAST, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data)}
        cmd = [sys.executable, str(ROOT / "tests" / "crash.py"), "commit", "1", "--"]
        cmd += [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        assert subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=60).returncode == -signal.SIGKILL
    db = sqlite3.connect(data / "state.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 0
