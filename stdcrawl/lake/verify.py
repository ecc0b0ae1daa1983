"""Reading a lake back as its readers should, and checking it: ``stdcrawl lake verify``.

A run folder counts only when it has ``_SUCCESS``; then its manifest says
which parts to read. :func:`verify` checks every run folder: manifest and
``_SUCCESS`` present, every listed part present with the listed byte size,
SHA-256 and record count, every record valid against its schema version, no
file the manifest does not list; and the WARC archive
(:func:`stdcrawl.lake.warc.check_archive`): every WARC file an articles manifest
lists present, of its size and SHA-256, whole, and every WARC file listed by
one (a problem is the listing run's). Pure of Scrapy; works on any
:class:`~stdcrawl.lake.stores.Store`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from stdcrawl import schema
from stdcrawl.lake import FAILED, MANIFEST, REPORT, SUCCESS, run_folder, schema_key
from stdcrawl.lake.manifest import SCHEMA_KINDS
from stdcrawl.lake.parts import part_records, run_folders
from stdcrawl.lake.stores import Store
from stdcrawl.lake.warc import check_archive


@dataclass
class FolderCheck:
    dataset: str
    dt: str
    run_id: str
    status: str = "ok"  # ok | unfinished | broken
    run_failed: bool = False  # the run's folders are whole, but the run failed (_FAILED says why)
    parts: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)
    warc_files: int = 0  # WARC files its manifest lists, checked (articles folders)
    warc_records: int = 0

    def problem(self, text: str) -> None:
        self.problems.append(text)
        if self.status == "ok":
            self.status = "broken"


def records(store: Store, dataset: str) -> Iterator[dict[str, Any]]:
    """The records of one dataset, from finished runs only, in run order."""
    for (found, dt, run_id), names in run_folders(store).items():
        if found != dataset or SUCCESS not in names:
            continue
        folder = run_folder(dataset, dt, run_id)
        for part in json.loads(store.get(folder + MANIFEST))["parts"]:
            yield from part_records(store.get(part["key"]))


class _Schemas:
    """Validators per (kind, version): the lake's published schema, else the one in the package."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[tuple[str, int], Draft202012Validator | None] = {}

    def get(self, kind: str, version: int) -> Draft202012Validator | None:
        if (kind, version) not in self.cache:
            key = schema_key(kind, version)
            if self.store.exists(key):
                self.cache[kind, version] = Draft202012Validator(json.loads(self.store.get(key)))
            elif version == schema.SCHEMA_VERSION:
                self.cache[kind, version] = Draft202012Validator(schema.load(kind))
            else:
                self.cache[kind, version] = None
        return self.cache[kind, version]


def verify(store: Store) -> list[FolderCheck]:
    schemas = _Schemas(store)
    checks = []
    for (dataset, dt, run_id), names in run_folders(store).items():
        check = FolderCheck(dataset, dt, run_id)
        checks.append(check)
        folder = run_folder(dataset, dt, run_id)
        if SUCCESS not in names:
            check.status = "unfinished"
            check.problems.append(f"no {SUCCESS}: the run did not finish, its {len(names)} files are not counted")
            continue
        if MANIFEST not in names:
            check.problem(f"{SUCCESS} but no {MANIFEST}")
            continue
        parts = json.loads(store.get(folder + MANIFEST))["parts"]
        listed = {part["key"].rsplit("/", 1)[1] for part in parts}
        for name in sorted(names - listed - {MANIFEST, SUCCESS, REPORT, FAILED}):
            check.problem(f"{name} is not in the manifest")
        check.run_failed = FAILED in names
        kind = SCHEMA_KINDS.get(dataset)
        for part in parts:
            _check_part(store, check, part, kind, schemas)
    _check_warc(store, checks)
    return checks


def _check_warc(store: Store, checks: list[FolderCheck]) -> None:
    """The archive's problems go to the articles folder of the run they belong to (a folder of their own if none)."""
    archive = check_archive(store)
    by_run = {c.run_id: c for c in checks if c.dataset == "articles"}
    for run_id, files in archive.files.items():
        if run_id in by_run:
            by_run[run_id].warc_files, by_run[run_id].warc_records = files, archive.records.get(run_id, 0)
    for run_id, (dt, files) in archive.unfinished.items():
        check = FolderCheck("warc", dt, run_id, status="unfinished")
        check.problems.append(f"no run folder with {SUCCESS}: the run did not finish, its {files} WARC files are not counted")
        checks.append(check)
    for run_id, dt, problem in archive.problems:
        if run_id not in by_run:
            by_run[run_id] = FolderCheck("warc", dt, run_id)
            checks.append(by_run[run_id])
        by_run[run_id].problem(problem)


def _check_part(store: Store, check: FolderCheck, part: dict[str, Any], kind: str | None, schemas: _Schemas) -> None:
    name = part["key"].rsplit("/", 1)[1]
    if not store.exists(part["key"]):
        check.problem(f"{name} is listed but missing")
        return
    data = store.get(part["key"])
    check.parts += 1
    if len(data) != part["bytes"] or hashlib.sha256(data).hexdigest() != part["sha256"]:
        check.problem(f"{name}: size or SHA-256 differs from the manifest")
        return
    try:
        rows = part_records(data)
    except (OSError, EOFError, ValueError) as exc:
        check.problem(f"{name}: unreadable ({exc})")
        return
    check.records += len(rows)
    if len(rows) != part["records"]:
        check.problem(f"{name}: {len(rows)} records, the manifest says {part['records']}")
    for n, row in enumerate(rows, 1):
        validator = schemas.get(kind, row.get("schema_version", 0)) if kind else None
        if kind and validator is None:
            check.problem(f"{name} line {n}: unknown schema version {row.get('schema_version')!r}")
            return
        if validator is not None and (error := next(iter(validator.iter_errors(row)), None)):
            check.problem(f"{name} line {n}: {'/'.join(map(str, error.absolute_path)) or 'record'}: {error.message[:120]}")
            return


def table(checks: list[FolderCheck]) -> str:
    """The checks as a text table, one row per run folder, problems below."""
    header = ("dataset", "dt", "run", "status", "run result", "parts", "records")
    rows = [header] + [(c.dataset, c.dt, c.run_id, c.status, "failed" if c.run_failed else "-" if c.dataset != "articles" else "ok",
                        str(c.parts), str(c.records)) for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for c in checks:
        lines += [f"{c.dataset}/dt={c.dt}/run={c.run_id}: {p}" for p in c.problems]
    ok = sum(c.status == "ok" for c in checks)
    lines.append(f"{ok} of {len(checks)} run folders ok, {sum(c.records for c in checks if c.status == 'ok')} records")
    if warc := sum(c.warc_files for c in checks):
        lines.append(f"archive: {warc} WARC files listed and checked, {sum(c.warc_records for c in checks)} WARC records")
    if failed := [c for c in checks if c.run_failed]:
        lines.append(f"{len(failed)} run(s) failed (their data is whole; _FAILED says why): "
                     + ", ".join(c.run_id for c in failed))
    return "\n".join(lines)


EXIT_OK, EXIT_BROKEN, EXIT_RUN_FAILED = 0, 1, 3


def exit_status(checks: list[FolderCheck]) -> int:
    """0: every folder whole and every run fine; 1: damage (or no run at all); 3: whole, but a run failed."""
    if not checks or any(c.status != "ok" for c in checks):
        return EXIT_BROKEN
    return EXIT_RUN_FAILED if any(c.run_failed for c in checks) else EXIT_OK
