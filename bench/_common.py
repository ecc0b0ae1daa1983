"""What the benchmark scripts share: a replica, timed crawls in subprocesses, results on disk.

Every figure is measured in the same script run as what it is compared with.
Crawls run as subprocesses (a crawler's CPU time and peak RSS are its own,
read with ``os.wait4``); the replica serves from a thread of the benchmark
process, on the other core.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scrapy

import stdcrawl

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BARE_SPIDER = ROOT / "bench" / "bare_spider.py"

# Politeness off: the replica is our own server. The same for every crawler compared.
CRAWL_SETTINGS = {
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "True",
    "TELNETCONSOLE_ENABLED": "False",
    "REMOTE_CONTROL_ENABLED": "False",
    "LOG_LEVEL": "WARNING",
    # stdcrawl's own per-page settings (stdcrawl/settings.py), given to both crawlers alike.
    "CONCURRENT_ITEMS": "8",
    "WARN_ON_GENERATOR_RETURN_VALUE": "False",
}


@dataclass
class Crawl:
    wall: float  # seconds, process start to exit
    cpu: float  # user + system seconds of the crawler process
    max_rss_mb: float
    requests: int  # requests the replica served to this crawl
    span: float  # seconds from the crawl's first request to its last, at the replica
    returncode: int
    output: str
    crawler_rss_mb: float | None = None  # the crawler process's own peak (VmHWM), when watched


    @property
    def pages_per_second(self) -> float:
        return self.requests / self.span if self.span else 0.0


def run(cmd: list[str], replica: Any, cwd: Path = ROOT, env: dict[str, str] | None = None,
        watch_memory: bool = False) -> Crawl:
    """A crawl to its end. ``max_rss_mb`` is the largest peak of the crawler and its helper processes (wait4);
    with ``watch_memory`` also the crawler's own peak, read from /proc every 20 ms until it exits."""
    before = len(replica.requests)
    started = time.monotonic()
    own: float | None = None
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if watch_memory else 0)
            if pid:
                break
            own = _high_water_mb(proc.pid) or own
            time.sleep(0.02)
        wall = time.monotonic() - started
        out.seek(0)
        output = out.read()
    served = replica.requests[before:]
    span = served[-1].at - served[0].at if len(served) > 1 else 0.0
    return Crawl(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, len(served), span,
                 os.waitstatus_to_exitcode(status), output, own)


def _high_water_mb(pid: int) -> float | None:
    """The peak resident set of a live process (VmHWM), None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stdcrawl_command(site_url: str, data_dir: Path, *args: str, **settings: str) -> list[str]:
    merged = {**CRAWL_SETTINGS, "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data_dir), **settings}
    return [sys.executable, "-m", "stdcrawl", "crawl", *args] + [a for k, v in merged.items() for a in ("-s", f"{k}={v}")]


def bare_command(site_url: str) -> list[str]:
    """The bare spider, from outside the project: Scrapy's defaults and the same crawl settings."""
    return [sys.executable, "-m", "scrapy", "runspider", str(BARE_SPIDER), "-a", f"site={site_url}"] + [
        a for k, v in CRAWL_SETTINGS.items() for a in ("-s", f"{k}={v}")
    ]


def bare_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}


def machine() -> dict[str, Any]:
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "stdcrawl": stdcrawl.__version__,
    }


def report(name: str, figures: dict[str, Any]) -> None:
    """Append the figures with the machine to bench/results/<name>.jsonl; print them as the last line."""
    record = {"benchmark": name, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **figures, "machine": machine()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record))
