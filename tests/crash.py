"""Run `stdcrawl crawl` and kill -9 the process itself at the N-th pass through one point.

    python tests/crash.py POINT N -- [stdcrawl crawl arguments]

POINT: fetch (an article page read), export (a record written to a part),
upload (a part or file being written: half of it, then death), commit (a state
transaction, just before COMMIT), finish (a manifest or _SUCCESS being written),
stored-<dataset> (just after the N-th part of that dataset is stored, before its commit),
table-before / table-after (just before, or just after, the N-th commit to the current-articles table).
The points are patched here, so production code carries no test hook.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stdcrawl import cli
from stdcrawl.state import store as state
from stdcrawl.feeds import exporters, storages
from stdcrawl.lake import stores
from stdcrawl.extensions import currenttable
from stdcrawl.spiders import channel


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def countdown(n: int, original: Callable[..., Any], before: Callable[..., None] | None = None) -> Callable[..., Any]:
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n:
            if before is not None:
                before(*args, **kwargs)
            die()
        return original(*args, **kwargs)

    return wrapper


def half_written(path: Any, source: Any, **kwargs: Any) -> None:
    data = source if isinstance(source, bytes) else source.read()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data[: len(data) // 2])


def main() -> int:
    point, n, rest = sys.argv[1], int(sys.argv[2]), sys.argv[4:]
    if point == "fetch":
        channel.StdailySpider._read = countdown(n, channel.StdailySpider._read)
    elif point == "export":
        exporters.RecordingJsonLinesExporter.export_item = countdown(n, exporters.RecordingJsonLinesExporter.export_item)
    elif point == "upload":
        storages.write_atomically = countdown(n, storages.write_atomically, half_written)
    elif point == "commit":
        original = state.StateStore._transaction

        def transaction(self: state.StateStore) -> Any:
            return _Dying(original(self), n)

        state.StateStore._transaction = transaction
    elif point == "finish":
        stores.LocalStore.put = countdown(n, stores.LocalStore.put)
    elif point in ("table-before", "table-after"):
        commit = currenttable.CurrentTable._run_committer
        if point == "table-before":
            currenttable.CurrentTable._run_committer = countdown(n, commit)  # type: ignore[method-assign]
        else:
            made = 0

            def commit_then_die(self: currenttable.CurrentTable, *args: Any, **kwargs: Any) -> Any:
                nonlocal made
                result = commit(self, *args, **kwargs)
                made += 1
                if made == n:
                    die()
                return result

            currenttable.CurrentTable._run_committer = commit_then_die  # type: ignore[method-assign]
    elif point.startswith("stored-"):
        dataset, put = point.removeprefix("stored-"), storages.LocalFeedStorage._put
        stored = 0

        def put_then_die(self: storages.LocalFeedStorage, file: Any) -> None:
            nonlocal stored
            put(self, file)
            if f"/{dataset}/" in str(self.path):
                stored += 1
                if stored == n:
                    die()

        storages.LocalFeedStorage._put = put_then_die  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown point {point}")
    return cli.main(["crawl", *rest])


_commits = 0


class _Dying:
    """A transaction that dies just before its n-th COMMIT."""

    def __init__(self, inner: Any, n: int) -> None:
        self.inner, self.n = inner, n

    def __enter__(self) -> None:
        self.inner.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        global _commits
        _commits += 1
        if _commits == self.n and exc[0] is None:
            die()
        return self.inner.__exit__(*exc)


if __name__ == "__main__":
    sys.exit(main())
