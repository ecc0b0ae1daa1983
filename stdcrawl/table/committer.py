"""One run's table commit in a process of its own: ``python -m stdcrawl.table.committer``.

The crawl hands it one job as JSON on stdin: the settings that reach the lake
(``STDCRAWL_*`` and ``AWS_*``), the run (id, channel, spider, dt, status) and
the keys of the run's article and tombstone parts. It reads those parts from
the lake, commits them (:meth:`CurrentArticles.commit_run`), runs the
maintenance due, and answers with one JSON line on stdout: ``{"version": ...,
"committed": ..., "counters": {...}}``, or ``{"error": "..."}`` with exit
status 3 when the table could not be written. Its log records go to stderr, one
JSON object a line, for the crawl to log as its own.

Why a process: pyarrow and delta-rs are about 70 MB resident once imported,
and a run's rows, as Python objects and again as Arrow columns, several times
the run's JSONL. In here, none of it adds to the crawler's memory, and the
crawler's peak is set by the crawl alone (``bench/memory_peak.py``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from stdcrawl.lake.parts import iter_part_records
from stdcrawl.lake.stores import open_store
from stdcrawl.paths import paths
from stdcrawl.table.counters import Counters
from stdcrawl.table.current import CurrentArticles
from stdcrawl.table.errors import TableError, one_line

ERROR_EXIT = 3


class _Settings(dict[str, Any]):
    """The few settings the lake's stores read, without loading Scrapy."""

    def getint(self, name: str, default: int = 0) -> int:
        value = self.get(name)
        return default if value is None or value == "" else int(value)


class _ToStderr(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        line = {"level": record.levelno, "name": record.name, "message": record.getMessage()}
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()


def commit(job: dict[str, Any], counters: Counters) -> dict[str, Any]:
    """Do one job (see the module's docstring), counting into ``counters``; TableError and OSError propagate."""
    settings = _Settings(job["settings"])
    where = paths(settings)
    lake = open_store(where.lake, settings)
    table = CurrentArticles.in_lake(where.lake, settings, stats=counters)
    run = job["run"]

    def records(dataset: str) -> Iterator[dict[str, Any]]:
        for part in job["parts"]:
            if part["dataset"] == dataset:
                yield from iter_part_records(lake.get(part["key"]))

    result = table.commit_run(run["run_id"], records("articles"), records("tombstones"), channel=run["channel"],
                              status=run["status"], metadata={"spider": run["spider"], "dt": run["dt"]})
    version = result.version if result.version is not None else table.version_of_run(run["run_id"])
    if result.version is not None:
        table.maintain(result.version)
    return {"committed": result.version is not None, "version": version}


def main() -> None:
    root = logging.getLogger()
    root.addHandler(_ToStderr())
    root.setLevel(logging.INFO)
    counters = Counters()
    try:
        answer = commit(json.loads(sys.stdin.read()), counters)
    except (TableError, OSError) as exc:
        answer, status = {"error": one_line(exc)}, ERROR_EXIT
    else:
        status = 0
    sys.stdout.write(json.dumps({**answer, "counters": counters.values}) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # No interpreter teardown: pyarrow's and delta-rs's threads can abort it (apache/arrow#34314), after the answer.
    os._exit(status)


if __name__ == "__main__":
    main()
