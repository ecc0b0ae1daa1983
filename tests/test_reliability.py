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
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FAST, ROOT, exported, leaks, stdcrawl_crawl

from stdcrawl.extract import NotAnArticle, extract_article
from stdcrawl.replica import render
from stdcrawl.replica.faults import CATALOGUE
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer, Router
from stdcrawl.replica.truth import audit, compare, expected_records
from stdcrawl.state import StateStore
from stdcrawl.urls import CANONICAL_BASE

# Faults of single articles (all at once); list, twin and robots faults have tests of their own.
ARTICLE_FAULTS = tuple(name for name, f in CATALOGUE.items() if f.target == "article")
LIST_FAULTS = tuple(name for name, f in CATALOGUE.items() if f.target == "list")
TWIN_FAULTS = tuple(name for name, f in CATALOGUE.items() if f.target == "twin")
FAULT_SETTINGS = {"DOWNLOAD_TIMEOUT": "1", "DOWNLOAD_MAXSIZE": str(1024 * 1024)}
# Read as the article they stand for within the run: the transient faults once the retries get past them
# (but a soft 404, which reads as no article twice), pages whose bytes lie about their charset, malformed
# markup, and 10,000 link lines after the body (a sidebar: the article ends before it).
READ_IN_RUN = {name for name in ARTICLE_FAULTS if CATALOGUE[name].transient and name != "soft404"} | {
    "charset", "charset-gbk-as-utf8", "charset-utf8-as-gbk", "malformed", "hostile-links"}


PROXY_SECRET = "proxy-pw-" + os.urandom(6).hex()


def proxy_tap(replica: ReplicaServer) -> dict[str, str]:
    """Every request goes through the replica (as a proxy with a password): one for another host shows in its log."""
    proxy = f"http://stdcrawl:{PROXY_SECRET}@{replica.netloc}"
    return {"http_proxy": proxy, "https_proxy": proxy, "no_proxy": ""}


def off_site(replica: ReplicaServer) -> list[str]:
    tapped = [r.target for r in replica.requests if r.target.startswith("http")]
    assert len(tapped) == len(replica.requests), "some requests bypassed the proxy tap"
    return [t for t in tapped if replica.netloc not in t]


def test_every_article_fault_then_healed_exports_each_article_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=80, faults=ARTICLE_FAULTS, stall_seconds=2, header_mb=2)
    with ReplicaServer(config) as replica:
        faulty = replica.model.faulty
        run = stdcrawl_crawl(data, site_url=replica.url, settings=FAULT_SETTINGS, env=proxy_tap(replica))
        assert off_site(replica) == []
    assert run.returncode in (0, 1) and "Traceback" not in run.output, run.output[-3000:]
    stats = run.stats
    got = {r["url"] for r in exported(data, "articles")}
    assert set(faulty.values()) == set(ARTICLE_FAULTS)
    for path, fault in faulty.items():
        assert (CANONICAL_BASE + path in got) == (fault in READ_IN_RUN), (fault, path)
    assert not stats.get("stdcrawl/spider/articles/unaccounted")
    assert stats["stdcrawl/retry_after/waits"] >= 4  # 5xx-retry-after twice, 429 once, on two pages each
    assert stats["stdcrawl/download/damaged/empty"] >= 2 and stats["stdcrawl/download/damaged/truncated"] >= 2
    assert any(k.startswith("stdcrawl/spider/articles/failed/") for k in stats)
    # What failed is pending: the next run fetches it again, whatever the lists show.
    store = StateStore(data / "state.sqlite")
    pending = {url for url, _ in store.pending("Cooperation")}
    store.close()
    assert {CANONICAL_BASE + p for p, f in faulty.items() if f not in READ_IN_RUN} <= pending
    # ... and the run's report says so, by kind.
    assert f"pending       {len(pending)} articles not got, fetched again by the next run" in run.output
    for reason in ("redirect_loop", "redirect_offsite", "too_large", "headers_too_large"):
        assert f"articles/{reason} " in run.output, reason
    # Above the 1 MB DOWNLOAD_MAXSIZE of FAULT_SETTINGS, as sent or as inflated: cancelled at the cap.
    too_large = sum(1 for f in faulty.values() if f in ("oversize", "gzip-bomb", "hostile-token", "hostile-paragraphs", "huge-title"))
    assert stats["stdcrawl/spider/articles/failed/too_large"] == too_large
    assert leaks(PROXY_SECRET, run, tmp_path) == []

    healed = ReplicaConfig(articles=80)
    with ReplicaServer(healed) as replica:
        again = stdcrawl_crawl(data, site_url=replica.url, env=proxy_tap(replica))
        assert off_site(replica) == []
        truth = expected_records(replica.model)
    assert again.returncode == 0, again.output[-3000:]
    comparison = compare(exported(data, "articles"), truth)
    assert comparison.ok, comparison.summary()


def test_a_page_with_a_huge_title_is_fetched_again_and_its_log_lines_stay_short(tmp_path: Path) -> None:
    """The replica's 1 MB title makes a 3 MB page, which is refused before it is read (the schema's rejection
    of a long title, with its short reasons, is tested in test_pipelines): pending, fetched again."""
    data = tmp_path / "data"
    config = ReplicaConfig(articles=40, others=4, faults=("huge-title",), fault_pages=1)
    with ReplicaServer(config) as replica:
        (path,) = replica.model.faulty
        first = stdcrawl_crawl(data, site_url=replica.url)
        assert max(map(len, first.output.splitlines())) < 10_000  # the 1 MB title is never logged whole
        assert CANONICAL_BASE + path not in {r["url"] for r in exported(data, "articles")}
        store = StateStore(data / "state.sqlite")
        assert CANONICAL_BASE + path in {url for url, _ in store.pending("Cooperation")}
        store.close()
    with ReplicaServer(replace(config, faults=())) as replica:
        healed = stdcrawl_crawl(data, site_url=replica.url)
        truth = expected_records(replica.model)
    assert healed.returncode == 0, healed.output[-3000:]
    result = audit(exported(data, "articles"), truth)
    assert result.ok, result.summary()


# What the first run of a list fault does: the walk loses the page (exit 1, the next run walks the lists to their
# end), but for an empty page, retried as damaged until it heals, and pages past the end that repeat the last one,
# which end the walk when they bring nothing new.
WALK_HOLDS = {"list-empty", "list-repeat-last"}


@pytest.mark.parametrize("fault", LIST_FAULTS)
def test_a_broken_list_page_then_healed_loses_and_duplicates_nothing(fault: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=60, others=6, faults=(fault,))
    with ReplicaServer(config) as replica:
        hit = [p for p, f in replica.model.fault_paths.items() if f == fault]
        first = stdcrawl_crawl(data, site_url=replica.url, settings={"DOWNLOAD_MAXSIZE": str(1024 * 1024)})
    assert "Traceback" not in first.output
    assert first.returncode == (0 if fault in WALK_HOLDS else 1), first.output[-3000:]
    if fault not in WALK_HOLDS:
        assert "FAILED: monitor failed: List walk/" in first.output and "lost page(s)" in first.output
        assert any(CANONICAL_BASE + p in first.output for p in hit)  # the report names the page
    with ReplicaServer(replace(config, faults=())) as replica:
        healed = stdcrawl_crawl(data, site_url=replica.url)
        truth = expected_records(replica.model)
    assert healed.returncode == 0, healed.output[-3000:]
    if fault not in WALK_HOLDS:
        assert healed.stats["stdcrawl/spider/walk_resumed"] == 1
    # A twin whose G2 entry was on the lost page was exported from its G1b page: the same story, its id kept.
    result = audit(exported(data, "articles"), truth, either_twin=True)
    assert result.ok, result.summary()


@pytest.mark.parametrize("fault", TWIN_FAULTS)
def test_twins_that_fail_or_redirect_to_each_other_are_one_story_across_runs(fault: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=60, others=6, faults=(fault,))
    with ReplicaServer(config) as replica:
        first = stdcrawl_crawl(data, site_url=replica.url)
        twins = [s for s in replica.model.live_stories("Cooperation") if "G1b" in s.paths and "G2" in s.paths]
    assert twins and "Traceback" not in first.output
    assert first.stats.get("dupefilter/filtered", 0) == 0 and not first.stats.get("stdcrawl/spider/articles/unaccounted")
    with ReplicaServer(replace(config, faults=())) as replica:
        healed = stdcrawl_crawl(data, "-a", "full_refresh=true", site_url=replica.url)
        truth = expected_records(replica.model)
    assert healed.returncode == 0, healed.output[-3000:]
    assert healed.stats.get("stdcrawl/state/new", 0) == 0  # every G1b page read again is a story known already
    # The lake's record of a twin was written when only one page could be read: it names what that page showed.
    result = audit(exported(data, "articles"), truth, either_twin=True)
    assert result.ok, result.summary()
    # And the other way round: the site healthy, then only one page of each twin can be read again.
    with ReplicaServer(config) as replica:
        one_page = stdcrawl_crawl(data, "-a", "full_refresh=true", site_url=replica.url)
    assert one_page.stats.get("item_scraped_count", 0) == 0, one_page.output[-3000:]  # neither a revision nor a new story


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
            # Whole (the killed run's folders finished by the next run); exit 3 when the killed run is marked failed.
            assert verify.returncode in (0, 3), (point, n, verify.stdout)
            assert after.stats["stdcrawl/lake/run_folder"].rstrip("/").rsplit("run=", 1)[1] not in verify.stdout.splitlines()[-1]
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
