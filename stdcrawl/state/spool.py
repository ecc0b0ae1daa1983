"""The spool: lake parts kept on local disk until they are stored in the lake and committed to the state.

    <data dir>/spool/run=<run id>/<part key>             the part's bytes
    <data dir>/spool/run=<run id>/<part key>.spool.json  what it holds (only once it failed)
    <data dir>/spool/run=<run id>/<WARC key>             a WARC file of the run's archive, written here
    <data dir>/spool/run=<run id>/<WARC key>.warc.json   why it waits (only once it could not be stored)

A lake part is staged here before it is stored (a failed upload may close the
file it was given), and leaves only once the ledger has committed it. A part
that could not be stored, or was stored but could not be committed (the state
store locked, the disk full), stays with a sidecar naming the part and the
records it holds; the next run stores it (again: the same key and bytes) and
commits it before it crawls. WARC files are written here by the run's archive
(:class:`stdcrawl.archive.RunArchive`, rooted at the run's folder) and leave
once stored in the lake and committed, the same way. The spool is the only
code that moves or removes these files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from stdcrawl.lake.stores import write_atomically
from stdcrawl.state.store import Export, Part

SIDECAR = ".spool.json"
WARC_SIDECAR = ".warc.json"


class SpoolError(OSError):
    """A spooled part that cannot be used: its bytes do not match what its sidecar says."""


@dataclass(frozen=True, slots=True)
class Spooled:
    """A part waiting in the spool, with the records it holds."""

    path: Path
    part: Part
    exports: list[Export]

    def read(self) -> bytes:
        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.part.sha256:
            raise SpoolError(f"spooled part {self.part.key} does not match its checksum")
        return data


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, run_id: str) -> Path:
        return self.root / f"run={run_id}"

    def stage(self, run_id: str, key: str, source: IO[bytes]) -> Path:
        """Keep a part's bytes before they are stored; raises OSError when the disk cannot take them."""
        path = self.folder(run_id) / key
        write_atomically(path, source)
        return path

    def keep(self, path: Path, part: Part, exports: list[Export]) -> None:
        """A staged part stays for the next run: say what it holds beside it."""
        sidecar = {"part": asdict(part), "exports": [asdict(e) for e in exports]}
        write_atomically(Path(f"{path}{SIDECAR}"), json.dumps(sidecar).encode())

    def release(self, path: Path) -> None:
        """The part is stored and committed: it leaves the spool."""
        path.unlink(missing_ok=True)
        Path(f"{path}{SIDECAR}").unlink(missing_ok=True)

    def waiting(self, run_id: str) -> Iterator[Spooled]:
        folder = self.folder(run_id)
        for sidecar in sorted(folder.rglob(f"*{SIDECAR}")) if folder.is_dir() else []:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            exports = [Export(**{**e, "aliases": tuple(e["aliases"])}) for e in meta["exports"]]
            yield Spooled(sidecar.with_name(sidecar.name.removesuffix(SIDECAR)), Part(**meta["part"]), exports)

    def keep_warc(self, path: Path, info: dict[str, Any]) -> None:
        """A closed WARC file stays for the next run: say what it is and why beside it."""
        write_atomically(Path(f"{path}{WARC_SIDECAR}"), json.dumps(info).encode())

    def warc_waiting(self, run_id: str) -> list[tuple[Path, dict[str, Any] | None]]:
        """The closed WARC files in a run's folder, with their sidecars (None: it never failed, the run died)."""
        folder = self.folder(run_id)
        found = []
        for path in sorted(folder.rglob("*.warc.gz")) if folder.is_dir() else []:
            if path.name.startswith("."):
                continue  # a temporary of the archive: stdcrawl.archive.recover() finishes it first
            sidecar = Path(f"{path}{WARC_SIDECAR}")
            found.append((path, json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else None))
        return found

    def release_warc(self, path: Path) -> None:
        """The WARC file is stored and committed: it leaves the spool."""
        path.unlink(missing_ok=True)
        Path(f"{path}{WARC_SIDECAR}").unlink(missing_ok=True)

    def holds(self, run_id: str) -> bool:
        folder = self.folder(run_id)
        return folder.is_dir() and any(folder.rglob(f"*{SIDECAR}"))

    def clear(self, run_id: str) -> None:
        shutil.rmtree(self.folder(run_id), ignore_errors=True)
