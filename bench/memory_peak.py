"""Memory: peak RSS of full crawls of 1,000, 5,000 and 20,000 Cooperation articles.

For each archive size, the peak resident set of a full first run
(``ru_maxrss`` from ``wait4``: the largest of the crawler's process and its
extraction workers), and what the run keeps per article: the growth of that
peak from the smallest archive to the largest, divided by the articles
between them (the walk's URL keys, the state's caches, the near-duplicate
index; the records themselves are exported and let go). Goal: 20,000 articles
under 150 MB.

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
    kept = (peaks[str(sizes[-1])] - peaks[str(sizes[0])]) * 1024 * 1024 / (sizes[-1] - sizes[0]) if len(sizes) > 1 else None
    biggest = peaks[str(sizes[-1])]
    report("memory_peak", {"peak_rss_mb": peaks, "bytes_kept_per_article": round(kept) if kept is not None else None,
                           "goal_mb_at_20000": 150, "goal_met": sizes[-1] >= 20000 and biggest < 150})


if __name__ == "__main__":
    main()
