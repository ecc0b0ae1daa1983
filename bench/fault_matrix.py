"""The fault matrix: every fault the replica can inject, then a healed site; and kill -9 at every point.

For each fault: a run against a replica with the fault on two articles (seeded),
then a run against the same site healed. For each crash point: a run killed
with SIGKILL there (tests/crash.py), then a normal run. Every request goes
through the replica as a proxy, so a request for any other host shows in its
log. Figures per row: the articles the fault hit, what the first run exported
and left pending, then over both runs: articles expected at the end, exported,
lost, duplicated, wrong (a field differs from the truth), off-site requests,
and the exit status of each run.

    python bench/fault_matrix.py [--articles 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Crawl, report, run, stdcrawl_command

from stdcrawl.lake.stores import LocalStore
from stdcrawl.lake.verify import records
from stdcrawl.replica.model import FAULTS, ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records
from stdcrawl.state import StateStore

# Small caps, so that the oversize page and the gzip bomb hit them, and a stall outlasts the timeout.
FAULT_SETTINGS = {"DOWNLOAD_TIMEOUT": "1", "DOWNLOAD_MAXSIZE": str(1024 * 1024)}
KILL_POINTS = {"fetch": 20, "export": 20, "upload": 2, "commit": 2, "finish": 2}  # point: the pass that dies


def tap(replica: ReplicaServer) -> dict[str, str]:
    proxy = f"http://{replica.netloc}"
    return {**os.environ, "http_proxy": proxy, "https_proxy": proxy, "no_proxy": ""}


def off_site(replica: ReplicaServer) -> int:
    """Requests for another host, or that did not go through the tap at all."""
    return sum(1 for r in replica.requests if not r.target.startswith("http") or replica.netloc not in r.target)


def row(name: str, crawls: list[Crawl], data: Path, replica: ReplicaServer) -> dict[str, Any]:
    truth = expected_records(replica.model)
    exported = list(records(LocalStore(data / "lake"), "articles"))
    result = compare(exported, truth)
    return {
        "case": name,
        "runs": len(crawls),
        "expected": result.expected,
        "exported": len({r["id"] for r in exported}),
        "lost": len(result.missing),
        "duplicated": result.exported - len({r["id"] for r in exported}),
        "wrong": len({i for i, _ in result.mismatches}),
        "off_site": off_site(replica),
        "exit": [c.returncode for c in crawls],
    }


def fault_case(fault: str, articles: int, tmp: Path) -> dict[str, Any]:
    data = tmp / fault
    with ReplicaServer(ReplicaConfig(articles=articles, faults=(fault,), stall_seconds=2)) as faulty:
        first = run(stdcrawl_command(faulty.url, data, **FAULT_SETTINGS), faulty, env=tap(faulty))
        left, hit = off_site(faulty), len(faulty.model.faulty)
    after_first = len({r["id"] for r in records(LocalStore(data / "lake"), "articles")})
    store = StateStore(data / "state.sqlite")
    pending = len(store.pending("Cooperation"))
    store.close()
    with ReplicaServer(ReplicaConfig(articles=articles)) as healed:
        second = run(stdcrawl_command(healed.url, data), healed, env=tap(healed))
        figures = row(fault, [first, second], data, healed)
    figures["off_site"] += left
    return {**figures, "faulty_pages": hit, "first_run_exported": after_first, "pending_after_first": pending}


def kill_case(point: str, n: int, articles: int, tmp: Path) -> dict[str, Any]:
    data = tmp / f"kill-{point}"
    with ReplicaServer(ReplicaConfig(articles=articles)) as replica:
        command = stdcrawl_command(replica.url, data, STDCRAWL_LAKE_BATCH_ITEMS="8")
        crash = [sys.executable, str(ROOT / "tests" / "crash.py"), point, str(n), "--", *command[4:]]
        killed = run(crash, replica, env=tap(replica))
        after = run(stdcrawl_command(replica.url, data), replica, env=tap(replica))
        return row(f"kill -9 at {point}", [killed, after], data, replica)


def table(rows: list[dict[str, Any]]) -> str:
    head = ("case", "faulty pages", "run 1 exported", "pending after run 1", "runs", "expected", "exported", "lost",
            "duplicated", "wrong", "off-site", "exit statuses")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = (r["case"], r.get("faulty_pages", "-"), r.get("first_run_exported", "-"), r.get("pending_after_first", "-"),
                 r["runs"], r["expected"], r["exported"], r["lost"], r["duplicated"], r["wrong"], r["off_site"],
                 ", ".join(str(c) for c in r["exit"]))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=60)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fault in FAULTS:
            rows.append(fault_case(fault, args.articles, Path(tmp)))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        for point, n in KILL_POINTS.items():
            rows.append(kill_case(point, n, args.articles, Path(tmp)))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows), file=sys.stderr)
    report("fault_matrix", {
        "articles": args.articles,
        "rows": rows,
        "lost": sum(r["lost"] for r in rows),
        "duplicated": sum(r["duplicated"] for r in rows),
        "off_site": sum(r["off_site"] for r in rows),
    })


if __name__ == "__main__":
    main()
