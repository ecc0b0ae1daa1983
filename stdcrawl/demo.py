"""``stdcrawl demo``: the whole pipeline offline, against the replica.

Serves a replica of www.stdaily.com on 127.0.0.1, crawls its Cooperation
channel with the project's spider and settings (politeness delays off: it is
our own server), writes the feed under the data dir, and checks every exported
record against the replica's ground truth.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from stdcrawl.project import project_settings
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records

# Our own server on loopback: no need to be slow.
LOCAL_SETTINGS: dict[str, Any] = {
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "LOG_LEVEL": "WARNING",
}


def run_demo(config: ReplicaConfig, data_dir: Path) -> int:
    with ReplicaServer(config) as server:
        print(f"Replica of www.stdaily.com (seed {config.seed}, {config.articles} Cooperation articles) at {server.url}")
        print("Crawling its Cooperation channel...", flush=True)
        stored: list[str] = []
        started = time.monotonic()
        process = CrawlerProcess(
            project_settings({**LOCAL_SETTINGS, "STDCRAWL_SITE_URL": server.url, "STDCRAWL_DATA_DIR": str(data_dir)})
        )
        crawler = process.create_crawler("cooperation")

        def feed_stored(slot: Any) -> None:
            stored.append(slot.uri)

        crawler.signals.connect(feed_stored, signal=signals.feed_slot_closed)
        process.crawl(crawler)
        process.start()
        elapsed = time.monotonic() - started
        stats = crawler.stats.get_stats() if crawler.stats else {}
        expected = expected_records(server.model)
    paths = [Path(uri.removeprefix("file://")) for uri in stored]
    records = [json.loads(line) for path in paths if path.exists() for line in path.read_text(encoding="utf-8").splitlines()]
    print(f"Done in {elapsed:.1f} s: {stats.get('downloader/request_count', 0)} requests, {len(records)} articles exported to")
    for path in paths:
        print(f"  {path}")
    result = compare(records, expected)
    print(f"Checked against the replica's ground truth: {result.summary()}")
    skipped = {k.removeprefix("stdcrawl/spider/"): v for k, v in stats.items() if k.startswith(("stdcrawl/spider/failed", "stdcrawl/spider/articles/not_article", "stdcrawl/spider/articles/other_channel"))}
    if skipped:
        print("Pages the crawl refused or could not get, as the replica intends: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
    print("Crawl the live site with `scrapy crawl cooperation` (polite: about one request a second).")
    return 0 if result.ok and stats.get("finish_reason") == "finished" else 1
