"""Memory: peak RSS of full crawls of 1,000, 5,000 and 20,000 Cooperation articles.

The crawler's peak resident set (``ru_maxrss`` of its process) after a full
first run of each archive. Goal: growth from 1,000 to 20,000 under 25 %.

    python bench/memory_peak.py [--sizes 1000,5000,20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report, run, stdcrawl_command

from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,20000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            with ReplicaServer(ReplicaConfig(articles=size)) as replica:
                crawl = run(stdcrawl_command(replica.url, Path(tmp) / str(size)), replica)
            if crawl.returncode != 0:
                sys.exit(f"crawl of {size} failed:\n{crawl.output[-3000:]}")
            peaks[str(size)] = round(crawl.max_rss_mb, 1)
    growth = peaks[str(sizes[-1])] / peaks[str(sizes[0])] - 1
    report("memory_peak", {"peak_rss_mb": peaks, "growth": round(growth, 3), "goal_growth_below": 0.25, "goal_met": growth < 0.25})


if __name__ == "__main__":
    main()
