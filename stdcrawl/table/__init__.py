"""The lake as a Delta table of current articles: one row per story at its latest revision.

The JSONL change log in the lake (every revision, every tombstone) stays the
source of truth; this table is derived from it, one commit per run, and can be
rebuilt from it at any time. It is written with delta-rs (``deltalake``, no JVM)
and read by anything that reads Delta: deltalake, polars (``pl.scan_delta``),
DuckDB (``delta_scan``), Spark.

- ``schema.py``: the declared columns (every article field, ``published_date``
  in Beijing time, the partition column) and records turned into rows;
- ``current.py``: :class:`CurrentArticles`: ``commit_run`` (one MERGE per run,
  idempotent by run id), ``committed_runs``, ``version_of_run``, ``at_run``
  (time travel), ``rebuild`` (from the change log);
- ``changelog.py``: :func:`lake_runs`, the lake read run by run, in run order;
- ``maintenance.py``: compaction, checkpoints and vacuum on a schedule read off
  the version number, and what time travel keeps;
- ``storage.py``: the table's place in the lake and delta-rs's S3 options;
- ``errors.py``: :class:`TableWriteError` (keep the run, commit it later),
  :class:`TableSchemaError`, :class:`RecordError`.

The table is partitioned by ``published_year`` (the Beijing year), the way
readers filter, under the maintenance policy of ``maintenance.py``.
``bench/table_reads.py`` (1,000 hourly runs of 1-3 records after a
359-story archive; ``bench/results/table_reads.jsonl``) measured, against an
unpartitioned table left to delta-rs's defaults: by year with maintenance, 14
data files instead of 296, a commit 78 ms instead of 270 (the baseline slows
as its files pile up), the whole table read in 37 ms instead of 518 and one
year in 19 ms instead of 408. Unpartitioned with maintenance reads the whole
table a little faster (23 ms) but a year no faster (20 ms), and rewrites the
whole table on every revision (289 MB written against 225); by month leaves
74 files (135 ms to read it all), by channel reads a year in 27 ms without
pruning, by year and channel leaves 29 files (112 ms). A year of stories is
a few hundred rows, so finer partitions only add files.
Settings: none of its own yet; the AWS settings of the lake (``storage.py``).
"""

from __future__ import annotations

from stdcrawl.table.changelog import ChangeLogError, lake_runs
from stdcrawl.table.counters import Counters, Stats
from stdcrawl.table.current import APP_ID_PREFIX, TABLE_NAME, CommitResult, CurrentArticles, RunRecords
from stdcrawl.table.errors import RecordError, TableError, TableMissing, TableSchemaError, TableWriteError
from stdcrawl.table.maintenance import MaintenancePolicy, MaintenanceResult
from stdcrawl.table.schema import BEIJING, DEFAULT_PARTITIONING, PARTITIONINGS, table_schema
from stdcrawl.table.storage import TABLE_KEY, storage_options, table_uri

__all__ = [
    "APP_ID_PREFIX",
    "BEIJING",
    "DEFAULT_PARTITIONING",
    "PARTITIONINGS",
    "TABLE_KEY",
    "TABLE_NAME",
    "ChangeLogError",
    "CommitResult",
    "Counters",
    "CurrentArticles",
    "MaintenancePolicy",
    "MaintenanceResult",
    "RecordError",
    "RunRecords",
    "Stats",
    "TableError",
    "TableMissing",
    "TableSchemaError",
    "TableWriteError",
    "lake_runs",
    "storage_options",
    "table_schema",
    "table_uri",
]
