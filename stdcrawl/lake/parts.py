"""A lake's run folders and the records of its parts, read without checking them: what the table's committer needs.

Kept apart from :mod:`stdcrawl.lake.verify`, which checks them (and loads the
JSON Schemas and the WARC reader to do it): the committer process starts once
a run and imports only this.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from stdcrawl.lake import PREFIX, parse_run_folder
from stdcrawl.lake.stores import Store


def run_folders(store: Store) -> dict[tuple[str, str, str], set[str]]:
    """Every run folder of the lake with the names of the files in it."""
    folders: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for key in store.keys(PREFIX + "/"):
        if found := parse_run_folder(key):
            folders[found].add(key.rsplit("/", 1)[1])
    return dict(sorted(folders.items()))


def part_records(data: bytes) -> list[dict[str, Any]]:
    return list(iter_part_records(data))


def iter_part_records(data: bytes) -> Iterator[dict[str, Any]]:
    """The records of a gzipped JSON-lines part, one at a time: only one is held as Python objects."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)
