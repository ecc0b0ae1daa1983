"""The state store fails safe: locked, a full disk, lost, shared, killed after a part: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import FAST, ROOT, exported, stdcrawl_crawl

from stdcrawl.lake.stores import LocalStore
from stdcrawl.lake.verify import records
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import audit, expected_records


def command(data: Path, site_url: str, *args: str, **settings: str) -> list[str]:
    merged = {**FAST, "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data), **settings}
    return [sys.executable, "-m", "stdcrawl", "crawl", *args] + [a for k, v in merged.items() for a in ("-s", f"{k}={v}")]


def verify(lake: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", str(lake)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_a_state_store_locked_mid_run_stops_the_run_and_deletes_nothing_stored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=60, others=6)) as replica:
        slow = {"DOWNLOAD_DELAY": "0.03", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "STDCRAWL_LAKE_BATCH_ITEMS": "10"}
        proc = subprocess.Popen(command(data, replica.url, **slow), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        folder = data / "lake" / "stdaily" / "articles"
        deadline = time.monotonic() + 60
        while not list(folder.glob("dt=*/run=*/part-00000.jsonl.gz")):
            assert proc.poll() is None and time.monotonic() < deadline, "no part was stored"
            time.sleep(0.02)
        locker = sqlite3.connect(data / "state.sqlite", isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")  # another process holds the state longer than its busy timeout (10 s)
        release = threading.Timer(13, locker.execute, ("ROLLBACK",))
        release.start()
        output, _ = proc.communicate(timeout=120)
        release.join()
        locker.close()
        assert proc.returncode == 1, output[-3000:]
        assert "Traceback" not in output
        assert "could not record" in output and "FAILED: the state store could not record what the lake holds" in output
        stored = sorted(p.name for p in folder.glob("dt=*/run=*/part-*.jsonl.gz"))
        assert stored  # every part that reached the lake is still there

        after = stdcrawl_crawl(data, site_url=replica.url)
        truth = expected_records(replica.model)
    assert after.returncode == 0, after.output[-3000:]
    assert after.stats["stdcrawl/lake/runs_recovered"] >= 1
    assert set(stored) <= {p.name for p in folder.glob("dt=*/run=*/part-*.jsonl.gz")}
    result = audit(exported(data, "articles"), truth, either_twin=True)
    assert result.ok, result.summary()
    assert verify(data / "lake").returncode == 3  # whole; the locked run is marked failed (_FAILED)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system of its own (tmpfs): the data dir on it can be filled up in the middle of a run."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_one_clear_failure_and_the_next_run_gets_everything(small_disk: Path, tmp_path: Path) -> None:
    data, lake = small_disk / "data", tmp_path / "lake"
    with ReplicaServer(ReplicaConfig(articles=60, others=6)) as replica:
        slow = {"DOWNLOAD_DELAY": "0.03", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", "STDCRAWL_LAKE_BATCH_ITEMS": "10",
                "STDCRAWL_LAKE_URI": str(lake)}
        proc = subprocess.Popen(command(data, replica.url, **slow), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not list(lake.glob("stdaily/articles/dt=*/run=*/part-00000.jsonl.gz")):
            assert proc.poll() is None and time.monotonic() < deadline, "no part was stored"
            time.sleep(0.02)
        filler = fill(small_disk)  # the disk under the data dir is full from here on
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 1, output[-3000:]
        assert "Traceback" not in output
        assert "No space left on device" in output or "disk is full" in output, output[-3000:]

        filler.unlink()
        after = stdcrawl_crawl(data, site_url=replica.url, settings={"STDCRAWL_LAKE_URI": str(lake)})
        truth = expected_records(replica.model)
    assert after.returncode == 0, after.output[-3000:]
    result = audit(list(records(LocalStore(lake), "articles")), truth, either_twin=True)
    assert result.ok, result.summary()
    assert verify(lake).returncode == 3  # whole; the run that met the full disk is marked failed


def test_a_lost_state_store_is_refused_then_rebuilt_from_the_lake(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40, others=4)) as replica:
        assert stdcrawl_crawl(data, site_url=replica.url).returncode == 0
        for loss in ("empty", "deleted"):
            state = data / "state.sqlite"
            for extra in ("-wal", "-shm"):
                Path(f"{state}{extra}").unlink(missing_ok=True)
            if loss == "empty":
                state.write_bytes(b"")
            else:
                state.unlink()
            refused = stdcrawl_crawl(data, site_url=replica.url)
            assert refused.returncode == 1 and refused.stats["finish_reason"] == "state_missing", refused.output[-3000:]
            assert "stdcrawl state rebuild" in refused.output and "Traceback" not in refused.output
            assert refused.stats.get("downloader/request_count", 0) == 0
        rebuilt = subprocess.run([sys.executable, "-m", "stdcrawl", "state", "rebuild", "--data-dir", str(data)], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "rebuilt" in rebuilt.stdout
        after = stdcrawl_crawl(data, site_url=replica.url)
        truth = expected_records(replica.model)
    assert after.returncode == 0, after.output[-3000:]
    assert after.stats.get("stdcrawl/state/new", 0) == 0 and after.stats["stdcrawl/spider/walk_resumed"] == 1
    result = audit(exported(data, "articles"), truth)
    assert result.ok, result.summary()


def test_two_runs_sharing_a_state_store_never_run_at_once(tmp_path: Path) -> None:
    state = tmp_path / "shared" / "state.sqlite"
    lake = tmp_path / "shared" / "lake"
    shared = {"STDCRAWL_STATE_PATH": str(state), "STDCRAWL_LAKE_URI": str(lake)}
    with ReplicaServer(ReplicaConfig(articles=40, others=4)) as replica:
        slow = {"DOWNLOAD_DELAY": "0.05", "CONCURRENT_REQUESTS_PER_DOMAIN": "1", **shared}
        first = subprocess.Popen(command(tmp_path / "one", replica.url, **slow), cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while len(replica.requests) < 5:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        second = stdcrawl_crawl(tmp_path / "two", site_url=replica.url, settings=shared)
        assert second.returncode == 1 and second.stats["finish_reason"] == "data_dir_locked", second.output[-3000:]
        assert f"pid {first.pid}" in second.output
        output, _ = first.communicate(timeout=120)
        assert first.returncode == 0, output[-3000:]
        truth = expected_records(replica.model)
    result = audit(list(records(LocalStore(lake), "articles")), truth)
    assert result.ok, result.summary()
    assert verify(lake).returncode == 0  # the refused run left nothing in the lake


def test_a_run_killed_just_after_storing_its_tombstones_is_finished_by_the_next(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=40, others=4)
    with ReplicaServer(config) as replica:
        evening = f"{SiteModel(config).today_at(0)}T23:00:00+08:00"
        assert stdcrawl_crawl(data, site_url=replica.url, now=evening).returncode == 0
        replica.set_epoch(1)
        evening = f"{replica.model.today_at(1)}T23:00:00+08:00"
        settings = {**FAST, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data), "STDCRAWL_NOW": evening}
        cmd = [sys.executable, str(ROOT / "tests" / "crash.py"), "stored-tombstones", "1", "--"]
        cmd += [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        killed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ})
        assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
        after = stdcrawl_crawl(data, site_url=replica.url, now=evening)
        truth = expected_records(replica.model)
        alive = {r["id"] for r in truth}
        removed = [r for r in expected_records(SiteModel(config)) if r["id"] not in alive]  # their last revision
    assert after.returncode == 0, after.output[-3000:]
    assert verify(data / "lake").returncode == 3  # no orphan folder left behind; the killed run marked failed
    tombstones = exported(data, "tombstones")
    assert sorted(t["id"] for t in tombstones) == sorted(r["id"] for r in removed) and len(removed) == config.removals_per_epoch
    result = audit(exported(data, "articles"), truth + removed)
    assert result.ok, result.summary()
