"""A state store rebuilt from the lake alone: ``stdcrawl state rebuild --lake ROOT --state PATH``.

The lake holds every record a run exported, in finished run folders (those
with ``_SUCCESS``; their manifests list the parts). Read in run order, the
articles and tombstones say what the state store would say: each story's id,
URLs, last content hash and fingerprint, revision, publication time and
summary, whether it is deleted; the runs and their parts. Through the ledger
(the state's one writer), one part at a time. What the lake cannot say is
rebuilt conservatively: pending articles are not known (the next run walks
every list to its end, so it finds them again), the last run counts as one
whose walk was not complete, and the last archived copy of each URL is not known
(the next crawl archives its pages in full rather than as revisits); the WARC
files the manifests list are recorded.

Refuses to write over a state store that knows anything already.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdcrawl.lake import MANIFEST, SUCCESS, run_folder
from stdcrawl.lake.stores import Store
from stdcrawl.lake.parts import part_records, run_folders
from stdcrawl.state.ledger import Ledger
from stdcrawl.state.store import Export, Part, Run, StateError, StateStore, WarcFile


@dataclass(frozen=True, slots=True)
class Rebuilt:
    runs: int
    parts: int
    articles: int


def _export(dataset: str, record: dict[str, Any]) -> Export:
    if dataset == "tombstones":
        return Export("tombstone", record["id"], record["url"], tuple(record["aliases"]), record.get("channel"), None, None,
                      record["revision"])
    return Export("article", record["id"], record["url"], tuple(record["aliases"]), record.get("channel"),
                  record.get("published_at"), record.get("content_hash"), record["revision"], record.get("summary"),
                  record.get("fingerprint"))


def _finished_runs(lake: Store) -> Iterator[tuple[dict[str, Any], dict[str, dict[str, Any]]]]:
    """(articles manifest, {dataset: manifest}) of each finished run, oldest first."""
    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for (dataset, dt, run_id), names in run_folders(lake).items():
        if SUCCESS in names and MANIFEST in names and dataset != "rejects":
            runs.setdefault(run_id, {})[dataset] = json.loads(lake.get(run_folder(dataset, dt, run_id) + MANIFEST))
    for run_id in sorted(runs, key=lambda r: (runs[r].get("articles", next(iter(runs[r].values())))["started_at"], r)):
        folders = runs[run_id]
        yield folders.get("articles") or next(iter(folders.values())), folders


def rebuild(lake: Store, state_path: Path) -> Rebuilt:
    """Fill a new state store at ``state_path`` from the lake; raises :class:`StateError` when it is not new."""
    store = StateStore(state_path)
    try:
        if not store.is_new():
            raise StateError(f"the state store {state_path} is not empty: rebuild into a new file, then move it into place")
        runs = parts = 0
        finished = list(_finished_runs(lake))
        newest = finished[-1][0]["run_id"] if finished else None
        for main, folders in finished:
            ledger = Ledger(store, main["run_id"])
            ledger.start_run(Run(main["run_id"], main["spider"], main["channel"], main["dt"], main["started_at"], None, None, {}, False))
            for warc in main.get("warc") or []:  # the run's archive, so a reextract finds it recorded
                ledger.commit_warc(WarcFile(warc["key"], warc["bytes"], warc["sha256"], warc["records"], warc["responses"],
                                            warc["revisits"]), [])
            for dataset in ("articles", "tombstones"):
                for p in (folders.get(dataset) or {}).get("parts", []):
                    part = Part(p["key"], dataset, p["records"], p["bytes"], p["sha256"])
                    ledger.commit_part(part, [_export(dataset, r) for r in part_records(lake.get(part.key))])
                    parts += 1
            last = main["run_id"] == newest
            # What the lake cannot say (pending articles, how far the walk got): the next run walks every list to its end.
            ledger.finish_run(main["finish_reason"], main.get("counts") or {}, {}, walk_complete=not last,
                              exit_status=main.get("exit_status"), finished_at=main["finished_at"] or main["started_at"])
            ledger.complete_run(main["run_id"])
            runs += 1
        return Rebuilt(runs, parts, len(store))
    finally:
        store.close()
