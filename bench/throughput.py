"""Crawl throughput: stdcrawl against a bare Scrapy spider fetching the same pages, and what each part costs.

A full crawl of a replica of N Cooperation articles (default 5000) by stdcrawl
as shipped (extraction and the archive's records in a worker process, pipelines,
lake export, state, WARC archive, Delta table) and by bench/bare_spider.py (the same links, nothing done
with the pages), same settings and concurrency, interleaved, ROUNDS times each.
Interleaved with them, stdcrawl with one part changed, so that each part's cost
is its own line:

- ``no_archive``: ``STDCRAWL_ARCHIVE=false`` (what writing the WARC archive costs);
- ``no_table``: ``STDCRAWL_TABLE=false`` (what the table commit at the end costs);
- ``extraction_in_crawler``: ``STDCRAWL_EXTRACT_WORKERS=0`` (pages read, and their records built, in the crawler's process);
- ``python_gc``: ``STDCRAWL_GC_THRESHOLD=0`` (Python's own garbage collector settings).

Figures (medians): pages/s at the replica (first request to last), the ratio
to the bare spider, CPU seconds per 1,000 articles (the crawler's process and
its workers, start-up and close included), and per page the time the crawl
took (both crawlers keep one core busy here, so this is the crawler process's
CPU per page). The CPU is also split by process: its helpers (the extraction
worker, the table's committer: the run's own stat ``stdcrawl/cpu/helpers_seconds``)
and the crawler's process, which bounds the page rate (the rest of the run's CPU). Goal: a ratio of
0.6 or more.

    python bench/throughput.py [--articles N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Crawl, bare_command, bare_env, report, run, stdcrawl_command

from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import expected_records

VARIANTS: dict[str, dict[str, str]] = {
    "stdcrawl": {},
    "no_archive": {"STDCRAWL_ARCHIVE": "False"},
    "no_table": {"STDCRAWL_TABLE": "False"},
    "extraction_in_crawler": {"STDCRAWL_EXTRACT_WORKERS": "0"},
    "python_gc": {"STDCRAWL_GC_THRESHOLD": "0"},
}
GOAL = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)  # the VM's noise is as large as the margins measured
    args = parser.parse_args()
    crawls: dict[str, list[Crawl]] = {"bare": [], **{name: [] for name in VARIANTS}}
    split: list[tuple[float, float]] = []  # stdcrawl's CPU: (the crawler's process, its helpers)
    with ReplicaServer(ReplicaConfig(articles=args.articles), cache=True) as replica, tempfile.TemporaryDirectory() as tmp:
        articles = len(expected_records(replica.model))
        run(bare_command(replica.url), replica, cwd=Path(tmp), env=bare_env())  # warm the replica's page cache
        for n in range(args.rounds):
            crawls["bare"].append(run(bare_command(replica.url), replica, cwd=Path(tmp), env=bare_env()))
            for name, settings in VARIANTS.items():
                stats_file = Path(tmp) / f"{name}-{n}.json"
                crawl = run(stdcrawl_command(replica.url, Path(tmp) / f"{name}-{n}", STDCRAWL_STATS_FILE=str(stats_file),
                                             **settings), replica)
                if crawl.returncode != 0:
                    sys.exit(f"stdcrawl ({name}) failed:\n{crawl.output[-3000:]}")
                crawls[name].append(crawl)
                if name == "stdcrawl":
                    # The helpers have exited by then; the crawler's share is the rest, its exit included as the bare spider's is.
                    helpers = json.loads(stats_file.read_text(encoding="utf-8"))["stdcrawl/cpu/helpers_seconds"]
                    split.append((crawl.cpu - helpers, helpers))
    rate = {name: statistics.median(c.pages_per_second for c in runs) for name, runs in crawls.items()}
    crawler_cpu, helpers_cpu = statistics.median(c for c, _ in split), statistics.median(h for _, h in split)
    cpu = {name: statistics.median(c.cpu for c in runs) for name, runs in crawls.items()}
    pages = crawls["stdcrawl"][0].requests
    figures = {
        name: {
            "pages_per_s": round(rate[name], 1),
            "ratio": round(rate[name] / rate["bare"], 3),
            "ms_per_page": round(1000 / rate[name], 3),
            "cpu_s_per_1000_articles": round(cpu[name] * 1000 / articles, 2),
        }
        for name in crawls
    }
    report("throughput", {
        "articles": articles,
        "rounds": args.rounds,
        "pages": pages,
        "stdcrawl_pages_per_s": figures["stdcrawl"]["pages_per_s"],
        "bare_pages_per_s": figures["bare"]["pages_per_s"],
        "ratio": figures["stdcrawl"]["ratio"],
        "stdcrawl_cpu_s_per_1000_articles": figures["stdcrawl"]["cpu_s_per_1000_articles"],
        "bare_cpu_s_per_1000_articles": figures["bare"]["cpu_s_per_1000_articles"],
        "added_cpu_ms_per_article": round((cpu["stdcrawl"] - cpu["bare"]) * 1000 / articles, 2),
        "crawler_cpu_s_per_1000_articles": round(crawler_cpu * 1000 / articles, 2),
        "helpers_cpu_s_per_1000_articles": round(helpers_cpu * 1000 / articles, 2),
        # What the crawler's own process adds to the bare spider's: the share of the added CPU that costs pages/s.
        "added_crawler_cpu_ms_per_article": round((crawler_cpu - cpu["bare"]) * 1000 / articles, 2),
        "archive_ms_per_page": round(figures["stdcrawl"]["ms_per_page"] - figures["no_archive"]["ms_per_page"], 3),
        "table_commit_cpu_s": round(cpu["stdcrawl"] - cpu["no_table"], 2),
        "variants": figures,
        "goal_ratio": GOAL,
        "goal_met": figures["stdcrawl"]["ratio"] >= GOAL,
    })


if __name__ == "__main__":
    main()
