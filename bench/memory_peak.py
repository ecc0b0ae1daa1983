"""Memory: peak RSS of full crawls of 1,000, 5,000 and 20,000 Cooperation articles.

For each archive size, the peak resident set of a full first run: the
crawler's process (its VmHWM, read while it runs) and the largest of its
helper processes (``ru_maxrss`` from ``wait4`` covers them all: the
extraction worker, and the table's committer, whose MERGE in delta-rs holds
several times the run's rows), and what the crawler keeps per article: the
growth of its peak from the smallest archive to the largest, divided by the
articles between them (the walk's URL keys, the state's caches, the
near-duplicate index, the archive's copies; the records themselves are
exported and let go). Goal: the crawler under 150 MB at 20,000 articles.

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
    helpers: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            with ReplicaServer(ReplicaConfig(articles=size)) as replica:
                crawl = run(stdcrawl_command(replica.url, Path(tmp) / str(size)), replica, watch_memory=True)
            if crawl.returncode != 0 or crawl.crawler_rss_mb is None:
                sys.exit(f"crawl of {size} failed:\n{crawl.output[-3000:]}")
            peaks[str(size)] = round(crawl.crawler_rss_mb, 1)
            helpers[str(size)] = round(crawl.max_rss_mb, 1)  # the crawler's too when it is the largest
    kept = (peaks[str(sizes[-1])] - peaks[str(sizes[0])]) * 1024 * 1024 / (sizes[-1] - sizes[0]) if len(sizes) > 1 else None
    biggest = peaks[str(sizes[-1])]
    report("memory_peak", {"peak_rss_mb": peaks, "largest_process_rss_mb": helpers,
                           "bytes_kept_per_article": round(kept) if kept is not None else None,
                           "goal_mb_at_20000": 150, "goal_met": sizes[-1] >= 20000 and biggest < 150})


if __name__ == "__main__":
    main()
