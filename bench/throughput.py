"""Crawl throughput: stdcrawl against a bare Scrapy spider fetching the same pages.

A full crawl of a replica of N Cooperation articles (default 5000) by stdcrawl
(extraction, pipelines, lake export, state) and by bench/bare_spider.py (the
same links, nothing done with the pages), same settings and concurrency,
interleaved, ROUNDS times each. Figures: pages/s of each (median), their ratio,
CPU seconds per 1,000 articles. Goal: stdcrawl at 0.85 or more of the bare spider.

    python bench/throughput.py [--articles N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bare_command, bare_env, report, run, stdcrawl_command

from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import expected_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ours, bare = [], []
    with ReplicaServer(ReplicaConfig(articles=args.articles), cache=True) as replica, tempfile.TemporaryDirectory() as tmp:
        articles = len(expected_records(replica.model))
        run(bare_command(replica.url), replica, cwd=Path(tmp), env=bare_env())  # warm the replica's page cache
        for n in range(args.rounds):
            bare.append(run(bare_command(replica.url), replica, cwd=Path(tmp), env=bare_env()))
            crawl = run(stdcrawl_command(replica.url, Path(tmp) / f"data-{n}"), replica)
            if crawl.returncode != 0:
                sys.exit(f"stdcrawl failed:\n{crawl.output[-3000:]}")
            ours.append(crawl)
    ours_rate = statistics.median(c.pages_per_second for c in ours)
    bare_rate = statistics.median(c.pages_per_second for c in bare)
    report("throughput", {
        "articles": articles,
        "rounds": args.rounds,
        "pages": ours[0].requests,
        "stdcrawl_pages_per_s": round(ours_rate, 1),
        "bare_pages_per_s": round(bare_rate, 1),
        "ratio": round(ours_rate / bare_rate, 3),
        "stdcrawl_cpu_s_per_1000_articles": round(statistics.median(c.cpu for c in ours) * 1000 / articles, 2),
        "bare_cpu_s_per_1000_articles": round(statistics.median(c.cpu for c in bare) * 1000 / articles, 2),
        "goal_ratio": 0.85,
    })


if __name__ == "__main__":
    main()
