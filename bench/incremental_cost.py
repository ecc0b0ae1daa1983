"""Incremental cost: what a scheduled run costs, and that it grows with what is new, not with the archive.

For archives of 1,000 and N (default 5,000) Cooperation articles: a full first
run, a re-run with nothing new, and a re-run after an epoch that adds k
articles (k = 10, 100). Figures: requests and wall time of each. The requests
of a re-run must grow with k, not with the archive.

    python bench/incremental_cost.py [--articles N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report, run, stdcrawl_command

from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer


def evening(config: ReplicaConfig, epoch: int) -> str:
    return f"{SiteModel(config).today_at(epoch)}T23:00:00+08:00"


def archive(articles: int, tmp: Path) -> dict[str, object]:
    base = ReplicaConfig(articles=articles)
    first_dir = tmp / f"first-{articles}"
    figures: dict[str, object] = {}
    with ReplicaServer(base) as replica:
        full = run(stdcrawl_command(replica.url, first_dir, STDCRAWL_NOW=evening(base, 0)), replica)
        figures["full"] = {"requests": full.requests, "wall_s": round(full.wall, 1)}
        unchanged_dir = tmp / f"unchanged-{articles}"
        shutil.copytree(first_dir, unchanged_dir)
        again = run(stdcrawl_command(replica.url, unchanged_dir, STDCRAWL_NOW=evening(base, 0)), replica)
        figures["unchanged"] = {"requests": again.requests, "wall_s": round(again.wall, 1)}
    for k in (10, 100):
        config = ReplicaConfig(articles=articles, new_per_epoch=k, epoch=1)
        data = tmp / f"k{k}-{articles}"
        shutil.copytree(first_dir, data)
        with ReplicaServer(config) as replica:
            after = run(stdcrawl_command(replica.url, data, STDCRAWL_NOW=evening(config, 1)), replica)
        figures[f"new_{k}"] = {"requests": after.requests, "wall_s": round(after.wall, 1)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = archive(1000, Path(tmp)), archive(args.articles, Path(tmp))
    report("incremental_cost", {
        "archives": {"1000": small, str(args.articles): large},
        # Re-runs cost the same whatever the archive size: only k moves them.
        "grows_with_archive": any(
            abs(large[key]["requests"] - small[key]["requests"]) > 5 for key in ("unchanged", "new_10", "new_100")  # type: ignore[index]
        ),
    })


if __name__ == "__main__":
    main()
