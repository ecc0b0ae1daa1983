"""``stdcrawl demo``: the scheduled command, offline, against the replica.

Serves a replica of www.stdaily.com on 127.0.0.1 and runs exactly what a
scheduled job runs, ``stdcrawl crawl cooperation``, against it (politeness
delays off: it is our own server), then checks every record in the lake
against the replica's ground truth. The demo keeps its own data dir,
``<data dir>/demo`` (lake, state, spool), and starts it afresh each time: it
shows a first run, and never mixes with the data of real crawls.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from stdcrawl.addon import new_run_id
from stdcrawl.lake.stores import LocalStore
from stdcrawl.lake.verify import records as lake_records
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
    from stdcrawl.commands.crawl import main as crawl

    run_id = "demo-" + new_run_id()
    demo_dir = data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    with ReplicaServer(config) as server:
        print(f"Replica of www.stdaily.com (seed {config.seed}, {config.articles} Cooperation articles) at {server.url}")
        settings = {
            **LOCAL_SETTINGS,
            "STDCRAWL_SITE_URL": server.url,
            "STDCRAWL_DATA_DIR": str(demo_dir),
            "STDCRAWL_RUN_ID": run_id,
        }
        argv = ["cooperation", *(arg for name, value in settings.items() for arg in ("-s", f"{name}={value}"))]
        print(f"Running: stdcrawl crawl {shlex.join(argv)}\n", flush=True)
        status = crawl(argv)
        expected = expected_records(server.model)
    lake = LocalStore(demo_dir / "lake")
    records = list(lake_records(lake, "articles"))
    result = compare(records, expected)
    print(f"\n{len(records)} articles exported to the lake {demo_dir / 'lake'}:")
    for key in lake.keys("stdaily/"):
        if f"run={run_id}/" in key:
            print(f"  {demo_dir / 'lake' / key}")
    print(f"Checked against the replica's ground truth: {result.summary()}")
    print("Crawl the live site with `stdcrawl crawl cooperation` (polite: about one request a second).")
    return status or (0 if result.ok else 1)
