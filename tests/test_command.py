"""`stdcrawl crawl` as a scheduled job: progress, signals, locking, resuming, politeness."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import FAST, ROOT, exported, stdcrawl_crawl

from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records


def command(data: Path, site_url: str, *args: str, **settings: str) -> list[str]:
    merged = {**FAST, "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data), **settings}
    return [sys.executable, "-m", "stdcrawl", "crawl", *args] + [a for k, v in merged.items() for a in ("-s", f"{k}={v}")]


def wait_for_requests(replica: ReplicaServer, count: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(replica.requests) < count:
        assert proc.poll() is None, "the crawl ended too soon"
        assert time.monotonic() < deadline, "the crawl made too few requests"
        time.sleep(0.02)


def test_a_progress_line_on_a_terminal(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=30)) as replica:
        primary, secondary = os.openpty()
        proc = subprocess.Popen(command(tmp_path / "data", replica.url), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=secondary)
        os.close(secondary)
        output = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(timeout=60) == 0
    text = output.decode("utf-8", "replace")
    assert "\r\x1b[Kpages " in text and " articles " in text and " pages/s" in text


def test_sigterm_stops_gracefully_and_the_next_run_completes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig()) as replica:
        slow = {"DOWNLOAD_DELAY": "0.02", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "STDCRAWL_LAKE_BATCH_ITEMS": "20"}
        proc = subprocess.Popen(command(data, replica.url, **slow), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_requests(replica, 120, proc)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1, output[-3000:]
        assert "the spider closed with reason 'shutdown'" in output
        stopped = exported(data, "articles")
        assert 0 < len(stopped) < len(expected_records(replica.model))
        folder = next((data / "lake" / "stdaily" / "articles").glob("dt=*/run=*"))
        assert json.loads((folder / "_manifest.json").read_text())["finish_reason"] == "shutdown"
        assert (folder / "_SUCCESS").exists() and not list((data / "spool").rglob("*.gz"))

        after = stdcrawl_crawl(data, site_url=replica.url)
        assert after.returncode == 0, after.output[-3000:]
        assert after.stats["stdcrawl/spider/walk_resumed"] == 1
        comparison = compare(exported(data, "articles"), expected_records(replica.model))
        assert comparison.ok, comparison.summary()


def test_a_second_run_on_the_same_data_dir_exits_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40)) as replica:
        slow = {"DOWNLOAD_DELAY": "0.05", "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
        first = subprocess.Popen(command(data, replica.url, **slow), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_requests(replica, 5, first)
        started = time.monotonic()
        second = stdcrawl_crawl(data, site_url=replica.url)
        assert time.monotonic() - started < 20
        assert second.returncode == 1
        assert "another stdcrawl run holds the data dir" in second.output and f"pid {first.pid}" in second.output
        assert second.stats["finish_reason"] == "data_dir_locked"
        output, _ = first.communicate(timeout=120)
        assert first.returncode == 0, output[-3000:]
        assert compare(exported(data, "articles"), expected_records(replica.model)).ok


def test_a_stopped_backfill_resumes_where_it_stopped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    backfill = ("-a", "since=2023-01-01", "-a", "until=2024-12-31")
    with ReplicaServer(ReplicaConfig()) as replica:
        job = {"STDCRAWL_JOB": "backfill-2023", "DOWNLOAD_DELAY": "0.02", "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
        proc = subprocess.Popen(command(data, replica.url, *backfill, **job), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        wait_for_requests(replica, 60, proc)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1, output[-3000:]
        assert (data / "jobs" / "backfill-2023" / "requests.queue").exists()
        first = len(replica.requests)

        resumed = stdcrawl_crawl(data, *backfill, site_url=replica.url, settings={"STDCRAWL_JOB": "backfill-2023"})
        assert resumed.returncode == 0, resumed.output[-3000:]
        want = [r for r in expected_records(replica.model) if "2023-01-01" <= r["published_at"][:10] <= "2024-12-31"]
        comparison = compare(exported(data, "articles"), want)
        assert comparison.ok, comparison.summary()
        # The resumed run did not start the walk over: together the two made one walk's requests.
        second = len(replica.requests) - first
        full = stdcrawl_crawl(tmp_path / "fresh", *backfill, site_url=replica.url).stats["downloader/request_count"]
    assert abs(first + second - full) <= 3, (first, second, full)


def test_robots_crawl_delay_is_obeyed(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=10, others=3, crawl_delay=0.25)) as replica:
        run = stdcrawl_crawl(tmp_path / "data", site_url=replica.url)
        assert run.returncode == 0, run.output[-3000:]
        times = [r.at for r in replica.requests]
    assert run.stats["stdcrawl/politeness/crawl_delay"] == 0.25
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]  # after robots.txt itself
    # Scrapy spaces the requests it sends; the replica times their arrival, which a busy machine can hold up
    # by some milliseconds: each gap is the delay give or take that, and on average at least the delay.
    assert len(gaps) > 10 and min(gaps) >= 0.25 - 0.1 and sum(gaps) / len(gaps) >= 0.25 * 0.98, gaps


def test_retry_after_is_waited_for(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=40, retry_after=1)) as replica:
        run = stdcrawl_crawl(tmp_path / "data", site_url=replica.url)
        assert run.returncode == 0, run.output[-3000:]
        flaky = next(s for s in replica.model.stories if s.flaky)
        hits = [r.at for r in replica.requests if r.target == flaky.paths[flaky.primary]]
    assert run.stats["stdcrawl/retry_after/waits"] == 2
    assert len(hits) == 3 and hits[1] - hits[0] >= 0.95 and hits[2] - hits[1] >= 0.95


def test_the_report_says_the_cpu_time_of_the_crawler_and_of_its_helpers(tmp_path: Path) -> None:
    """The run's CPU, by process, against what the kernel says the whole process tree used (wait4)."""
    with ReplicaServer(ReplicaConfig(articles=30)) as replica:
        seen = {}
        for name, settings in {"shipped": {}, "alone": {"STDCRAWL_EXTRACT_WORKERS": "0", "STDCRAWL_TABLE": "False"}}.items():
            stats_file = tmp_path / f"{name}.json"
            cmd = command(tmp_path / name, replica.url, STDCRAWL_STATS_FILE=str(stats_file), **settings)
            with (tmp_path / f"{name}.out").open("w+") as out:
                proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen is told
                out.seek(0)
                printed = out.read()
            assert proc.returncode == 0, printed[-3000:]
            stats = json.loads(stats_file.read_text(encoding="utf-8"))
            crawler, helpers = stats["stdcrawl/cpu/crawler_seconds"], stats["stdcrawl/cpu/helpers_seconds"]
            total = usage.ru_utime + usage.ru_stime
            # Measured when the engine stopped: the summary and the interpreter's exit (0.14-0.33 s here) come after.
            assert 0.7 * total < crawler + helpers <= total + 0.02, (crawler, helpers, total)
            report = json.loads(next((tmp_path / name).rglob("_report.json")).read_text(encoding="utf-8"))
            assert 0 < report["cpu_seconds"]["crawler"] <= crawler
            duration = next(line for line in printed.splitlines() if line.startswith("duration"))
            assert f"CPU {crawler + helpers:.1f} s ({crawler:.1f} the crawler, {helpers:.1f} its workers and committer)" in duration
            seen[name] = helpers
    assert seen["shipped"] > 0.1  # an extraction worker and the table's committer, each an interpreter of its own
    assert seen["alone"] == 0.0  # no process but the crawler's
