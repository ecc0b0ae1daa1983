"""The run manifest: what a run folder holds, for readers to trust. Pure, no Scrapy."""

from __future__ import annotations

import json
from typing import Any

from stdcrawl import events
from stdcrawl.lake import schema_key
from stdcrawl.record import SCHEMA_VERSION
from stdcrawl.state import Part, Run

MANIFEST_VERSION = 1
SCHEMA_KINDS = {"articles": "article", "tombstones": "tombstone"}  # rejects carry any record: no schema


def counts_from_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The run's record counts, read off its stats."""
    return {
        "new": stats.get(events.STATE_NEW, 0),
        "revised": stats.get(events.STATE_REVISED, 0),
        "unchanged": stats.get(events.STATE_UNCHANGED, 0),
        "deleted": stats.get(events.STATE_DELETED, 0),
        "rejected": stats.get(events.VALIDATE_REJECTED, 0),
        "duplicates": sum(v for k, v in stats.items() if k.startswith(events.DEDUPE_DUPLICATE_PREFIX)),
    }


def build(run: Run, dataset: str, parts: list[Part], *, finished_by: str, extra: dict[str, Any] | None = None) -> bytes:
    """``_manifest.json`` of one dataset's run folder."""
    kind = SCHEMA_KINDS.get(dataset)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run.run_id,
        "dataset": dataset,
        "spider": run.spider,
        "channel": run.channel,
        "dt": run.dt,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "finish_reason": run.finish_reason or "interrupted",
        "finished_by": finished_by,  # this run, or the later run that completed it
        "counts": run.counts or None,
        "schema_version": SCHEMA_VERSION if kind else None,
        "schema": schema_key(kind, SCHEMA_VERSION) if kind else None,
        "parts": [
            {"key": p.key, "records": p.records, "bytes": p.bytes, "sha256": p.sha256} for p in parts if p.dataset == dataset
        ],
        **(extra or {}),
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
