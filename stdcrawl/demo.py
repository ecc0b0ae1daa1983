"""``stdcrawl demo``: the scheduled command, offline, against the replica.

Serves a replica of www.stdaily.com on 127.0.0.1 and runs exactly what a
scheduled job runs, ``stdcrawl crawl cooperation``, against it (politeness
delays off: it is our own server; a fresh state: it is a first run), then
checks every exported record against the replica's ground truth.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

from stdcrawl.addon import new_run_id
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records

# Our own server on loopback: no need to be slow.
LOCAL_SETTINGS = {
    "CONCURRENT_REQUESTS": "8",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "LOG_LEVEL": "WARNING",
}


def run_demo(config: ReplicaConfig, data_dir: Path) -> int:
    from stdcrawl.cli import crawl

    run_id = "demo-" + new_run_id()
    with ReplicaServer(config) as server, tempfile.TemporaryDirectory(prefix="stdcrawl-demo-") as state_dir:
        print(f"Replica of www.stdaily.com (seed {config.seed}, {config.articles} Cooperation articles) at {server.url}")
        settings = {
            **LOCAL_SETTINGS,
            "STDCRAWL_SITE_URL": server.url,
            "STDCRAWL_DATA_DIR": str(data_dir),
            "STDCRAWL_STATE_PATH": str(Path(state_dir) / "state.sqlite"),
            "STDCRAWL_RUN_ID": run_id,
        }
        argv = ["cooperation", *(arg for name, value in settings.items() for arg in ("-s", f"{name}={value}"))]
        print(f"Running: stdcrawl crawl {shlex.join(argv)}\n", flush=True)
        status = crawl(argv)
        expected = expected_records(server.model)
    output = data_dir / "cooperation" / "articles" / f"{run_id}.jsonl"
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()] if output.exists() else []
    result = compare(records, expected)
    print(f"\n{len(records)} articles exported to {output}")
    print(f"Checked against the replica's ground truth: {result.summary()}")
    print("Crawl the live site with `stdcrawl crawl cooperation` (polite: about one request a second).")
    return status or (0 if result.ok else 1)
