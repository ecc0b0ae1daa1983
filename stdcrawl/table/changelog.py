"""Reading the lake as a change log, run by run in run order: what the table is rebuilt from. Pure, no Scrapy.

A run is read as :func:`stdcrawl.lake.verify.records` reads a dataset: only
run folders with ``_SUCCESS``, only the parts their manifest lists. A run's
articles and tombstones come together (its ``rejects`` are not table input).
Runs are ordered by the manifest's ``started_at``, then by run id (run ids
are start times, so this is their order too). A run's status is ``ok`` when
its manifest says it exited 0 (or, in a manifest without an exit status, that
it finished), ``failed`` otherwise.

Failure modes: a run that has a folder without ``_SUCCESS`` is not finished
(the next crawl finishes it): it is left out whole, with a warning and the
counter ``stdcrawl/table/unfinished_runs``, never half applied. A listed part
that is missing or unreadable raises :class:`ChangeLogError` naming it: a
rebuild must not silently lose records (``stdcrawl lake verify`` says more).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from stdcrawl.lake import MANIFEST, SUCCESS, run_folder
from stdcrawl.lake.stores import Store
from stdcrawl.lake.parts import part_records, run_folders
from stdcrawl.table.counters import Counters, Stats
from stdcrawl.table.current import RunRecords
from stdcrawl.table.errors import TableError, one_line

logger = logging.getLogger(__name__)

TABLE_DATASETS = ("articles", "tombstones")


class ChangeLogError(TableError):
    """The lake's change log cannot be read whole: a listed part is missing or damaged."""


def lake_runs(store: Store, *, stats: Stats | None = None) -> Iterator[RunRecords]:
    """Every finished run of the lake with its article and tombstone records, in run order."""
    stats = stats if stats is not None else Counters()
    folders: dict[str, dict[str, tuple[str, set[str]]]] = defaultdict(dict)
    for (dataset, dt, run_id), names in run_folders(store).items():
        if dataset in TABLE_DATASETS:
            folders[run_id][dataset] = (run_folder(dataset, dt, run_id), names)
    runs: list[tuple[str, str, dict[str, dict[str, Any]]]] = []
    for run_id, datasets in folders.items():
        unfinished = [d for d, (_folder, names) in datasets.items() if SUCCESS not in names]
        if unfinished:
            stats.inc_value("stdcrawl/table/unfinished_runs")
            logger.warning("lake: run %s is not finished (no %s in %s): left out of the table until a crawl finishes it",
                           run_id, SUCCESS, ", ".join(unfinished))
            continue
        manifests = {d: _manifest(store, folder, run_id) for d, (folder, _names) in datasets.items()}
        started = next((m.get("started_at") or "" for m in manifests.values()), "")
        runs.append((started, run_id, manifests))
    for _started, run_id, manifests in sorted(runs, key=lambda r: (r[0], r[1])):
        records = {d: _records(store, run_id, manifests[d]) if d in manifests else [] for d in TABLE_DATASETS}
        yield RunRecords(run_id, records["articles"], records["tombstones"], _status(manifests))


def _manifest(store: Store, folder: str, run_id: str) -> dict[str, Any]:
    try:
        manifest = json.loads(store.get(folder + MANIFEST))
    except Exception as exc:  # any store or JSON error: the run's folder is not readable
        raise ChangeLogError(f"lake: run {run_id}: {folder}{MANIFEST} cannot be read: {one_line(exc)}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("parts"), list):
        raise ChangeLogError(f"lake: run {run_id}: {folder}{MANIFEST} lists no parts")
    return manifest


def _records(store: Store, run_id: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in manifest["parts"]:
        key = part.get("key", "?") if isinstance(part, dict) else "?"
        try:
            rows = part_records(store.get(key))
        except Exception as exc:  # missing, truncated, not gzip, not JSON
            raise ChangeLogError(f"lake: run {run_id}: part {key} cannot be read: {one_line(exc)}") from None
        if isinstance(part.get("records"), int) and len(rows) != part["records"]:
            raise ChangeLogError(f"lake: run {run_id}: part {key} holds {len(rows)} records, its manifest says {part['records']}")
        out.extend(rows)
    return out


def _status(manifests: dict[str, dict[str, Any]]) -> str:
    manifest = manifests.get("articles") or next(iter(manifests.values()))
    if "exit_status" in manifest:
        return "ok" if manifest["exit_status"] == 0 else "failed"
    return "ok" if manifest.get("finish_reason") == "finished" else "failed"
