"""The WARC archive in the lake: which files the manifests list, and whether they are there and whole.

    <root>/stdaily/warc/dt=YYYY-MM-DD/run=<run id>/00000.warc.gz, 00001.warc.gz, ...

A run's WARC files are listed by its articles manifest (``warc``: key, bytes,
SHA-256, record counts); a ``stdcrawl reextract`` run that read files from
outside the lake stores them under their own keys and lists them in its
manifest. Only files a finished run's manifest lists may be trusted, as with parts.

- :func:`listed`: every WARC file the finished runs' manifests list;
- :func:`check_archive`: for ``lake verify``: every listed file present, of the
  listed size and SHA-256, whole by :func:`stdcrawl.archive.check` (revisits
  held against their originals in the lake), and no WARC file that no
  manifest lists (but those of runs not finished yet, which verify reports
  as unfinished already).

Pure of Scrapy; works on any :class:`~stdcrawl.lake.stores.Store`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stdcrawl.archive import ArchiveError, check
from stdcrawl.lake import MANIFEST, PREFIX, SUCCESS, parse_run_folder, run_folder
from stdcrawl.lake.stores import LocalStore, Store

WARC_PREFIX = f"{PREFIX}/warc/"
_KEY = re.compile(rf"{WARC_PREFIX}dt=(?P<dt>\d{{4}}-\d{{2}}-\d{{2}})/run=(?P<run>[A-Za-z0-9._-]+)/(?P<name>[^/]+)$")


@dataclass(frozen=True, slots=True)
class Listed:
    """A WARC file a finished run's manifest lists."""

    key: str
    dt: str  # of the run that wrote it (from its key)
    run_id: str  # the run that wrote it (from its key)
    listed_by: str  # the run whose manifest lists it
    entry: dict[str, Any]  # the manifest's entry: key, bytes, sha256, records, ...


def key_run(key: str) -> tuple[str, str] | None:
    """(dt, run id) of a key in the WARC folder."""
    m = _KEY.match(key)
    return (m["dt"], m["run"]) if m else None


def _manifests(store: Store) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The articles manifests of finished runs by run id; and the run ids of unfinished article folders."""
    names: dict[tuple[str, str], set[str]] = {}
    for key in store.keys(f"{PREFIX}/articles/"):
        if (found := parse_run_folder(key)) and found[0] == "articles":
            names.setdefault((found[1], found[2]), set()).add(key.rsplit("/", 1)[1])
    finished, unfinished = {}, set()
    for (dt, run_id), files in sorted(names.items()):
        if SUCCESS in files and MANIFEST in files:
            finished[run_id] = json.loads(store.get(run_folder("articles", dt, run_id) + MANIFEST))
        else:
            unfinished.add(run_id)
    return finished, unfinished


def listed(store: Store) -> list[Listed]:
    """Every WARC file the finished runs' articles manifests list, in key order (the first listing of each)."""
    finished, _ = _manifests(store)
    out: dict[str, Listed] = {}
    for run_id, manifest in finished.items():
        for entry in manifest.get("warc") or []:
            where = key_run(entry["key"])
            if where and entry["key"] not in out:
                out[entry["key"]] = Listed(entry["key"], where[0], where[1], run_id, entry)
    return sorted(out.values(), key=lambda f: f.key)


def runs_in_lake(store: Store) -> tuple[set[str], set[str]]:
    """Run ids with a finished articles folder, and with an unfinished one."""
    finished, unfinished = _manifests(store)
    return set(finished), unfinished


@dataclass
class ArchiveCheck:
    """What ``lake verify`` found in the WARC folders."""

    files: dict[str, int] = field(default_factory=dict)  # run id of the listing manifest -> files checked
    records: dict[str, int] = field(default_factory=dict)  # ... -> their records
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (run id and dt it belongs to, line)
    unfinished: dict[str, tuple[str, int]] = field(default_factory=dict)  # run id -> (dt, files) of runs with no manifest


def check_archive(store: Store) -> ArchiveCheck:
    """Check every listed WARC file and every WARC file present; see the module docstring."""
    result = ArchiveCheck()
    finished, unfinished = _manifests(store)
    entries: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for run_id, manifest in finished.items():
        for entry in manifest.get("warc") or []:
            entries.setdefault(entry["key"], (run_id, str(manifest.get("dt")), entry))
    present = [key for key in store.keys(WARC_PREFIX) if key_run(key)]
    for key in present:
        dt_run = key_run(key)
        assert dt_run is not None
        if key in entries or dt_run[1] in unfinished:
            continue  # listed, or a run whose articles folder verify reports as unfinished
        if dt_run[1] in finished:
            result.problems.append((dt_run[1], dt_run[0], f"{key} is not in any manifest"))
        else:  # a run that died before it stored a part: the next run finishes it
            dt, files = result.unfinished.get(dt_run[1], (dt_run[0], 0))
            result.unfinished[dt_run[1]] = (dt, files + 1)
    opener = _opener(store)
    for key, (run_id, dt, entry) in sorted(entries.items()):
        name = key.rsplit("/", 1)[1]
        if not store.exists(key):
            result.problems.append((run_id, dt, f"WARC file {key} is listed but missing"))
            continue
        data = store.get(key)
        result.files[run_id] = result.files.get(run_id, 0) + 1
        if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            result.problems.append((run_id, dt, f"WARC file {key}: size or SHA-256 differs from the manifest"))
            continue
        try:
            found = check((key, data), open_key=opener)
        except ArchiveError as exc:
            found = [str(exc)]
        result.problems += [(run_id, dt, f"WARC file {p}") for p in found[:5]]
        if len(found) > 5:
            result.problems.append((run_id, dt, f"WARC file {name}: {len(found) - 5} more problems"))
        result.records[run_id] = result.records.get(run_id, 0) + int(entry.get("records") or 0)
    return result


def _opener(store: Store) -> Callable[[str], Path | bytes]:
    """Where a key's bytes are, for revisits whose originals are in other files."""
    if isinstance(store, LocalStore):
        return lambda key: store.root / key
    cache: dict[str, bytes] = {}

    def get(key: str) -> bytes:
        if key not in cache:
            cache.clear()  # one file at a time: originals are read once per revisiting file
            cache[key] = store.get(key)
        return cache[key]

    return get
