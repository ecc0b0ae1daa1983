"""Where a run keeps its files, derived once from the settings.

    <STDCRAWL_DATA_DIR>/            data (default)
        state.sqlite                the state store (STDCRAWL_STATE_PATH overrides)
        state.sqlite.lock           held by the run using that state store
        spool/run=<run id>/...      parts and archives waiting to be stored in the lake
        jobs/<STDCRAWL_JOB>/        a resumable job's queue (Scrapy's JOBDIR)
        lake/                       the lake, unless STDCRAWL_LAKE_URI points elsewhere

Every component asks :func:`paths` rather than joining names itself, so a
second data dir or a moved state store changes in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stdcrawl
from stdcrawl.lake import LakeURI


@dataclass(frozen=True, slots=True)
class Paths:
    data_dir: Path
    state: Path
    lake: LakeURI

    @property
    def lock(self) -> Path:
        """The lock lives beside the state store: two runs sharing a state never run at once,
        whatever data dirs they were given."""
        return self.state.with_name(self.state.name + ".lock")

    @property
    def spool(self) -> Path:
        return self.data_dir / "spool"

    def run_spool(self, run_id: str) -> Path:
        return self.spool / f"run={run_id}"

    def job(self, name: str) -> Path:
        return self.data_dir / "jobs" / name


def paths(settings: Any) -> Paths:
    """The paths of ``settings`` (already validated: see :mod:`stdcrawl.config`)."""
    data_dir = Path(settings.get("STDCRAWL_DATA_DIR"))
    state = settings.get("STDCRAWL_STATE_PATH")
    lake = settings.get("STDCRAWL_LAKE_URI") or str(data_dir / "lake")
    return Paths(data_dir, Path(state) if state else data_dir / "state.sqlite", LakeURI.parse(lake))


def child_env() -> dict[str, str]:
    """The environment for a Python process of this package (an extraction worker, the table's committer).

    This very package comes first on its ``PYTHONPATH``, wherever it was loaded
    from: a scrapyd egg is on no path of its own.
    """
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(stdcrawl.__file__)))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
