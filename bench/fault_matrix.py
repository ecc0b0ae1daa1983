"""The fault matrix: every fault the replica can inject, state-store faults, kill -9 at every point; then healed.

For each replica fault (article pages, list pages, twins, robots.txt; see
docs/site.md): a run against a replica with the fault on, then a run against
the same site healed. For each crash point: a run killed with SIGKILL there
(tests/crash.py), then a normal run. For the state store: a run while another
process holds it locked past its busy timeout, a state file lost (then refused,
rebuilt with `stdcrawl state rebuild`), a second run sharing the state store.
Every request goes through the replica as a proxy, so a request for any other
host shows in its log. Figures per row: the paths the fault hit, what the first
run exported and left pending, then over all runs: stories expected at the end,
records exported, lost, duplicated, wrong (a field of a story's last record
differs from the truth; a twin exported from either of its pages counts as
right), off-site requests, and the exit status of each run.

    python bench/fault_matrix.py [--articles 60] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Crawl, report, run, stdcrawl_command

from stdcrawl.lake.stores import LocalStore
from stdcrawl.lake.verify import records
from stdcrawl.replica.model import FAULTS, ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import audit, expected_records
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


def row(name: str, crawls: list[Crawl], data: Path, replica: ReplicaServer, lake: Path | None = None) -> dict[str, Any]:
    truth = expected_records(replica.model)
    exported = list(records(LocalStore(lake or data / "lake"), "articles"))
    result = audit(exported, truth, either_twin=True)
    return {
        "case": name,
        "runs": len(crawls),
        "expected": result.expected,
        "exported": result.exported,
        "lost": len(result.lost),
        "duplicated": len(result.duplicated),
        "wrong": len({i for i, _ in result.wrong}) + len(result.unexpected),
        "off_site": off_site(replica),
        "exit": [c.returncode for c in crawls],
    }


def fault_case(fault: str, articles: int, tmp: Path) -> dict[str, Any]:
    data = tmp / fault
    with ReplicaServer(ReplicaConfig(articles=articles, faults=(fault,), stall_seconds=2, header_mb=2)) as faulty:
        first = run(stdcrawl_command(faulty.url, data, **FAULT_SETTINGS), faulty, env=tap(faulty))
        left, hit = off_site(faulty), len(faulty.model.faulty)
    hit = len([f for f in faulty.model.fault_paths.values() if f == fault]) or hit
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


def locked_case(articles: int, tmp: Path) -> dict[str, Any]:
    """Another process holds the state store locked for 13 s (its busy timeout is 10 s) in the middle of a run."""
    data = tmp / "state-locked"
    with ReplicaServer(ReplicaConfig(articles=articles)) as replica:
        command = stdcrawl_command(replica.url, data, DOWNLOAD_DELAY="0.03", CONCURRENT_REQUESTS_PER_DOMAIN="1",
                                   STDCRAWL_LAKE_BATCH_ITEMS="10")
        holder = threading.Thread(target=_lock_after_first_part, args=(data, 13.0), daemon=True)
        holder.start()
        first = run(command, replica, env=tap(replica))
        holder.join()
        after = run(stdcrawl_command(replica.url, data), replica, env=tap(replica))
        return row("state store locked mid-run", [first, after], data, replica)


def _lock_after_first_part(data: Path, seconds: float) -> None:
    deadline = time.monotonic() + 60
    while not list((data / "lake").glob("stdaily/articles/dt=*/run=*/part-00000.jsonl.gz")):
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    db = sqlite3.connect(data / "state.sqlite", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    time.sleep(seconds)
    db.execute("ROLLBACK")
    db.close()


def lost_state_case(articles: int, tmp: Path) -> dict[str, Any]:
    """The state file is emptied between runs: refused, then rebuilt from the lake, then a normal run."""
    data = tmp / "state-lost"
    with ReplicaServer(ReplicaConfig(articles=articles)) as replica:
        crawls = [run(stdcrawl_command(replica.url, data), replica, env=tap(replica))]
        for extra in ("", "-wal", "-shm"):
            Path(f"{data / 'state.sqlite'}{extra}").unlink(missing_ok=True)
        (data / "state.sqlite").write_bytes(b"")
        crawls.append(run(stdcrawl_command(replica.url, data), replica, env=tap(replica)))
        subprocess.run([sys.executable, "-m", "stdcrawl", "state", "rebuild", "--data-dir", str(data)], cwd=ROOT,
                       capture_output=True, check=True)
        crawls.append(run(stdcrawl_command(replica.url, data), replica, env=tap(replica)))
        return row("state file lost, refused, rebuilt", crawls, data, replica)


def shared_state_case(articles: int, tmp: Path) -> dict[str, Any]:
    """Two runs with the same state store and lake but their own data dirs, started together."""
    shared = {"STDCRAWL_STATE_PATH": str(tmp / "shared" / "state.sqlite"), "STDCRAWL_LAKE_URI": str(tmp / "shared" / "lake")}
    with ReplicaServer(ReplicaConfig(articles=articles)) as replica:
        slow = stdcrawl_command(replica.url, tmp / "one", DOWNLOAD_DELAY="0.03", CONCURRENT_REQUESTS_PER_DOMAIN="1", **shared)
        other = threading.Thread(target=lambda: crawls.append(run(slow, replica, env=tap(replica))))
        crawls: list[Crawl] = []
        other.start()
        time.sleep(1.5)
        crawls.append(run(stdcrawl_command(replica.url, tmp / "two", **shared), replica, env=tap(replica)))
        other.join()
        return row("two runs sharing a state store", crawls, tmp / "one", replica, lake=tmp / "shared" / "lake")


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
    parser.add_argument("--only", default="", help="run only these cases (fault names, kill points, 'state'), comma-separated")
    args = parser.parse_args()
    only = {o for o in args.only.split(",") if o}
    rows = []

    def keep(name: str) -> bool:
        return not only or name in only

    with tempfile.TemporaryDirectory() as tmp:
        cases: list[Any] = [(fault, lambda f=fault: fault_case(f, args.articles, Path(tmp))) for fault in FAULTS]
        cases += [(point, lambda p=point, n=n: kill_case(p, n, args.articles, Path(tmp))) for point, n in KILL_POINTS.items()]
        cases += [("state", lambda: locked_case(args.articles, Path(tmp))), ("state", lambda: lost_state_case(args.articles, Path(tmp))),
                  ("state", lambda: shared_state_case(args.articles, Path(tmp)))]
        for name, case in cases:
            if keep(name):
                rows.append(case())
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
