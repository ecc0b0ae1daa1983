"""Deployed to a real scrapyd on 127.0.0.1 with scrapyd-deploy, scheduled with schedule.json."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, exported

from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, data: dict[str, Any] | list[tuple[str, str]] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\neggs_dir = eggs\nlogs_dir = logs\n"
        "items_dir =\ndbs_dir = dbs\nmax_proc = 1\npoll_interval = 0.5\n"
    )
    proc = subprocess.Popen(["scrapyd"], cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            call(url + "/daemonstatus.json")
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "scrapyd did not start"
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_deploy_schedule_and_read_back(scrapyd: str, tmp_path: Path) -> None:
    # scrapyd-deploy writes setup.py and build/ into the project: deploy a copy.
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".git", "data", "tests", "build", "*.egg-info", "__pycache__", "setup.py"))
    cfg = (project / "scrapy.cfg").read_text()
    (project / "scrapy.cfg").write_text(cfg.replace("url = http://127.0.0.1:6800/", f"url = {scrapyd}/"))
    deploy = subprocess.run(["scrapyd-deploy"], cwd=project, capture_output=True, text=True, timeout=120)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    response = json.loads(next(line for line in deploy.stdout.splitlines() if line.startswith("{")))
    assert (response["status"], response["spiders"]) == ("ok", 2)

    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40)) as replica:
        settings = {"STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data), "DOWNLOAD_DELAY": "0",
                    "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": "8"}
        job = call(scrapyd + "/schedule.json", [("project", "stdcrawl"), ("spider", "cooperation"),
                                                *(("setting", f"{k}={v}") for k, v in settings.items())])
        assert job["status"] == "ok"
        deadline = time.monotonic() + 90
        while not any(j["id"] == job["jobid"] for j in call(scrapyd + "/listjobs.json?project=stdcrawl")["finished"]):
            assert time.monotonic() < deadline, "the scheduled crawl did not finish"
            time.sleep(0.5)
        comparison = compare(exported(data, "articles"), expected_records(replica.model))
    assert comparison.ok, comparison.summary()
    report = json.loads(next((data / "lake").rglob("_report.json")).read_text())
    assert report["exit_status"] == 0 and report["spider"] == "cooperation"
