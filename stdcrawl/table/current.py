"""The current-articles Delta table: one row per story at its latest revision, one commit per run. Pure, no Scrapy.

:class:`CurrentArticles` applies a run's records to the table as **one** MERGE:
the latest revision of each article id is upserted, tombstoned ids are deleted,
and a row only ever moves forward (an upsert or a delete whose revision is not
higher than the row's does nothing). Committing runs in run order therefore
gives the same table as committing their union (:meth:`CurrentArticles.rebuild`).

Idempotency by run id. The commit carries a Delta transaction identifier
(``txn`` action, app id ``stdcrawl.run/<run id>``) besides its commit metadata
(``stdcrawl.run_id``, ``stdcrawl.status``, ``stdcrawl.channel``,
``stdcrawl.counts``, and what the caller adds). Before merging, the committer
looks the app id up in the snapshot it merges into: a run already there is a
no-op. Transaction identifiers live in every checkpoint, so this holds for the
table's whole life, not only while the run's log entry is kept; and Delta's
conflict check refuses two commits with the same app id, so two processes
committing the same run at once still commit it once. A run whose records
change nothing (all already applied) is still recorded, by an empty commit.

Concurrent committers (another channel's crawl, or a retry) are expected: a
commit that conflicts with one that landed first is redone on the new snapshot
(``max_attempts``, with a short random wait); delta-rs itself retries a version
clash that does not conflict. Partition pruning keeps a MERGE to the partitions
its stories are in: before merging, the partition each id's row is in now is
looked up, so a revision that moves a story to another year (an edited date)
updates the old row rather than adding a second one.

Time travel: :meth:`CurrentArticles.version_of_run` finds a run's version from
the commit metadata in the table's history (the retained log, see
``maintenance.py``), and :meth:`CurrentArticles.at_run` loads the table as of it.

Failure modes: :class:`~stdcrawl.table.errors.TableWriteError` when the table
cannot be written now (the store down, conflicts that kept coming): nothing of
the run is in the table, commit it again later. :class:`TableSchemaError` when
the location holds a table that is not ours. :class:`RecordError` for a record
that does not fit, before anything is written. Each is a log line and a
``stdcrawl/table/...`` counter.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Schema, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from stdcrawl.lake import LakeURI
from stdcrawl.table import schema as columns
from stdcrawl.table.counters import Counters, Stats
from stdcrawl.table.errors import RecordError, TableError, TableMissing, TableSchemaError, TableWriteError, one_line
from stdcrawl.table.maintenance import MaintenancePolicy, MaintenanceResult, maintain
from stdcrawl.table.storage import storage_options, table_uri

logger = logging.getLogger(__name__)

TABLE_NAME = "stdcrawl_current_articles"
APP_ID_PREFIX = "stdcrawl.run/"
STATUSES = ("ok", "failed")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # as the record schema's run_id
_RESERVED = ("stdcrawl.run_id", "stdcrawl.run_ids", "stdcrawl.status", "stdcrawl.channel", "stdcrawl.counts")
# Errors of the store or of delta-rs that mean "not now": the caller keeps the run and retries.
_STORE_ERRORS = (DeltaError, OSError, pa.ArrowException)
# Records are turned into Arrow this many at a time (bench/memory_peak.py: the committer's peak).
CHUNK_ROWS = 1000
# Every column a row can have, the month's too: which ones a table keeps is known once it is open.
_ROW_SCHEMA = columns.table_schema(("published_month",))


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What :meth:`CurrentArticles.commit_run` did."""

    run_id: str
    committed: bool  # False: the run was already in the table, nothing was written
    version: int | None  # the version holding the run; None when it was already committed
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    not_applied: int = 0  # records no newer than the table's row, tombstones of stories without a row
    attempts: int = 0
    seconds: float = 0.0


class RunRecords(NamedTuple):
    """One run of the lake's change log: what :meth:`CurrentArticles.rebuild` replays."""

    run_id: str
    articles: list[dict[str, Any]]
    tombstones: list[dict[str, Any]]
    status: str


class CurrentArticles:
    """The current-articles table at ``uri`` (a local path or ``s3://...``).

    ``partitioning`` (a key of :data:`stdcrawl.table.schema.PARTITIONINGS`) is
    used when the table is created; an existing table keeps its own, and asking
    for another one is a :class:`TableSchemaError`. ``None`` takes the
    existing table's, or ``"year"`` for a new one. ``stats`` receives the
    ``stdcrawl/table/...`` counters (Scrapy's stats collector, or any object
    with ``inc_value``). Settings: see :meth:`in_lake`.
    """

    def __init__(
        self,
        uri: str,
        *,
        storage_options: Mapping[str, str] | None = None,
        partitioning: str | None = None,
        policy: MaintenancePolicy | None = None,
        stats: Stats | None = None,
        max_attempts: int = 6,
        retry_wait: float = 0.2,
    ) -> None:
        if partitioning is not None:
            columns.partition_columns(partitioning)  # a ValueError now rather than at the first commit
        self.uri = uri
        self.storage_options = dict(storage_options or {})
        self.partitioning = partitioning
        self.policy = policy or MaintenancePolicy()
        self.stats: Stats = stats if stats is not None else Counters()
        self.max_attempts = max_attempts
        self.retry_wait = retry_wait

    @classmethod
    def in_lake(cls, lake: LakeURI, settings: Any, **kwargs: Any) -> CurrentArticles:
        """The table of a lake root, reached with the project's AWS settings (see ``storage.py``)."""
        return cls(table_uri(lake), storage_options=storage_options(lake, settings), **kwargs)

    # -- reading ---------------------------------------------------------------------------------

    def exists(self) -> bool:
        # Not DeltaTable.is_deltatable: it keeps the GIL while it waits on the store (deltalake 1.6),
        # which stalls an S3 server running in the same process, as the tests' moto does.
        try:
            DeltaTable(self.uri, storage_options=self.storage_options or None)
        except TableNotFoundError:
            return False
        except _STORE_ERRORS as exc:
            raise TableWriteError(f"table {self.uri}: cannot be read: {one_line(exc)}") from None
        return True

    def open(self, version: int | None = None) -> DeltaTable:
        """The table (at ``version``), checked to be ours; TableError when it is missing or unreadable."""
        try:
            table = DeltaTable(self.uri, version=version, storage_options=self.storage_options or None)
        except TableNotFoundError:
            raise TableMissing(f"table {self.uri}: no Delta table there") from None
        except _STORE_ERRORS as exc:
            at = f" at version {version}" if version is not None else ""
            raise TableWriteError(f"table {self.uri}{at}: cannot be read: {one_line(exc)}") from None
        self._check(table)
        return table

    def _check(self, table: DeltaTable) -> None:
        parts = tuple(table.metadata().partition_columns)
        known = {v: k for k, v in columns.PARTITIONINGS.items()}
        if parts not in known:
            self.stats.inc_value("stdcrawl/table/not_ours")
            raise TableSchemaError(f"table {self.uri} is not a current-articles table: partitioned by {', '.join(parts)}")
        if self.partitioning is not None and columns.PARTITIONINGS[self.partitioning] != parts:
            self.stats.inc_value("stdcrawl/table/not_ours")
            raise TableSchemaError(
                f"table {self.uri} is partitioned by {', '.join(parts) or 'nothing'} ({known[parts]}), "
                f"not {self.partitioning}: rebuild it elsewhere to change its layout"
            )
        want = json.loads(Schema.from_arrow(columns.table_schema(parts)).to_json())["fields"]
        have = json.loads(table.schema().to_json())["fields"]
        if want != have:
            self.stats.inc_value("stdcrawl/table/not_ours")
            raise TableSchemaError(f"table {self.uri} is not a current-articles table: {_schema_difference(want, have)}")
        if table.metadata().configuration.get("delta.enableChangeDataFeed") != "true":
            self.stats.inc_value("stdcrawl/table/not_ours")
            raise TableSchemaError(f"table {self.uri} has no change data feed (delta.enableChangeDataFeed)")

    @property
    def version(self) -> int:
        return self.open().version()

    def is_committed(self, run_id: str) -> bool:
        """Whether the run is in the table (for the table's whole life, not only its retained history)."""
        if not self.exists():
            return False
        return self.open().transaction_version(APP_ID_PREFIX + run_id) is not None

    def history(self) -> list[dict[str, Any]]:
        """The retained commits, oldest first (commit metadata included)."""
        try:
            return list(reversed(self.open().history()))
        except _STORE_ERRORS as exc:
            raise TableWriteError(f"table {self.uri}: history cannot be read: {one_line(exc)}") from None

    def committed_runs(self) -> list[str]:
        """Run ids of the commits in the retained history, in commit order (a rebuild lists every run it holds)."""
        runs: list[str] = []
        for commit in self.history():
            if "stdcrawl.run_id" in commit:
                runs.append(commit["stdcrawl.run_id"])
            runs.extend(_json_list(commit.get("stdcrawl.run_ids")))
        return runs

    def version_of_run(self, run_id: str) -> int | None:
        """The version that committed ``run_id``, from the retained history; None when it is not there."""
        for commit in reversed(self.history()):
            if commit.get("stdcrawl.run_id") == run_id or run_id in _json_list(commit.get("stdcrawl.run_ids")):
                return int(commit["version"])
        return None

    def at_run(self, run_id: str) -> DeltaTable:
        """The table as it was right after ``run_id`` was committed (time travel)."""
        version = self.version_of_run(run_id)
        if version is None:
            raise TableError(f"table {self.uri}: run {run_id} is not in the retained history")
        return self.open(version)

    # -- writing ---------------------------------------------------------------------------------

    def commit_run(
        self,
        run_id: str,
        articles: Iterable[Mapping[str, Any]],
        tombstones: Iterable[Mapping[str, Any]] = (),
        *,
        channel: str | None,
        status: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommitResult:
        """Apply one run's records as one table commit; a run already committed is a no-op.

        ``articles`` and ``tombstones`` are the run's lake records (dicts of
        the record schemas). ``status`` is ``ok`` or ``failed`` (the run's, for
        readers of the history: the records are applied either way).
        ``metadata`` adds string keys to the commit metadata.
        """
        started = time.monotonic()
        meta = _commit_metadata(run_id, channel, status, metadata)
        upserts, deletes, counts = _reduce([(run_id, articles, tombstones)])
        meta["stdcrawl.counts"] = json.dumps(counts, sort_keys=True)
        app = [Transaction(APP_ID_PREFIX + run_id, 1)]
        last: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                table = self.ensure()
                if table.transaction_version(APP_ID_PREFIX + run_id) is not None:
                    self.stats.inc_value("stdcrawl/table/already_committed")
                    logger.info("table %s: run %s is already committed: nothing to do", self.uri, run_id)
                    return CommitResult(run_id, False, None, attempts=attempt, seconds=time.monotonic() - started)
                metrics = self._merge(table, upserts, deletes, CommitProperties(custom_metadata=meta, app_transactions=app))
            except CommitFailedError as exc:  # a concurrent commit touched what this one read: redo on the new snapshot
                last = exc
                self.stats.inc_value("stdcrawl/table/conflicts")
                logger.info("table %s: run %s conflicted with a concurrent commit (attempt %d of %d): %s",
                            self.uri, run_id, attempt, self.max_attempts, one_line(exc, 160))
                time.sleep(self.retry_wait * attempt * (0.5 + random.random()))
                continue
            except TableWriteError as exc:  # the table could not be read
                self.stats.inc_value("stdcrawl/table/commit_failed")
                logger.warning("table %s: run %s not committed: %s", self.uri, run_id, exc)
                raise TableWriteError(f"run {run_id} not committed: {exc}") from None
            except TableError:
                raise
            except _STORE_ERRORS as exc:
                self.stats.inc_value("stdcrawl/table/commit_failed")
                logger.warning("table %s: run %s not committed: %s", self.uri, run_id, one_line(exc))
                raise TableWriteError(f"table {self.uri}: run {run_id} not committed: {one_line(exc)}") from None
            result = CommitResult(run_id, True, table.version(), metrics["inserted"], metrics["updated"],
                                  metrics["deleted"], metrics["not_applied"], attempt, time.monotonic() - started)
            self._count(result)
            return result
        self.stats.inc_value("stdcrawl/table/commit_failed")
        logger.warning("table %s: run %s not committed after %d conflicting attempts", self.uri, run_id, self.max_attempts)
        raise TableWriteError(
            f"table {self.uri}: run {run_id} not committed: concurrent commits conflicted {self.max_attempts} times"
            f" ({one_line(last, 160) if last else 'no detail'})"
        )

    def rebuild(self, runs: Iterable[RunRecords | tuple[str, Iterable[Any], Iterable[Any], str]], *, replace: bool = False) -> CommitResult:
        """Build the table from a change log (runs in run order) in one commit: the union of the runs.

        The result equals committing each run in turn. A new table is created;
        an existing one (ours) is replaced only with ``replace``, by one
        overwrite commit (readers never see it empty; its history stays, and
        its change feed shows the rebuild as deletes and inserts). Every run is
        recorded for idempotency and in the commit metadata
        (``stdcrawl.run_ids``), so committing one of them again is a no-op.
        """
        started = time.monotonic()
        run_ids: list[str] = []

        def log() -> Iterable[Batch]:
            for run_id, articles, tombstones, status in runs:
                _check_run_id(run_id)
                _check_status(status)
                run_ids.append(run_id)
                yield run_id, articles, tombstones

        upserts, _deletes, counts = _reduce(log())
        if len(set(run_ids)) != len(run_ids):
            raise TableError(f"rebuild of {self.uri}: a run appears twice in the change log")
        exists = self.exists()
        if exists and not replace:
            raise TableError(f"table {self.uri} exists: rebuild replaces it only when asked to (replace)")
        meta = {
            "stdcrawl.rebuild": "true",
            "stdcrawl.run_ids": json.dumps(run_ids),
            "stdcrawl.counts": json.dumps({**counts, "runs": len(run_ids)}, sort_keys=True),
        }
        props = CommitProperties(custom_metadata=meta, app_transactions=[Transaction(APP_ID_PREFIX + r, 1) for r in run_ids])
        try:
            table = self.open() if exists else self._create()
            parts = tuple(table.metadata().partition_columns)
            data = upserts.select(columns.table_schema(parts).names).cast(columns.table_schema(parts))
            write_deltalake(table, data, mode="overwrite" if exists else "append", commit_properties=props)
            table = self.open()
        except TableError:
            raise
        except _STORE_ERRORS as exc:
            self.stats.inc_value("stdcrawl/table/commit_failed")
            logger.warning("table %s: rebuild not committed: %s", self.uri, one_line(exc))
            raise TableWriteError(f"table {self.uri}: rebuild not committed: {one_line(exc)}") from None
        self.stats.inc_value("stdcrawl/table/rebuilds")
        logger.info("table %s: rebuilt from %d runs: %d current articles (version %d)",
                    self.uri, len(run_ids), data.num_rows, table.version())
        return CommitResult("rebuild", True, table.version(), inserted=data.num_rows, attempts=1,
                            seconds=time.monotonic() - started)

    def maintain(self, version: int | None = None) -> MaintenanceResult:
        """The maintenance due after a commit that produced ``version`` (default: the table's current one).

        Call it after each :meth:`commit_run`; see ``maintenance.py`` for the schedule.
        """
        try:
            table = self.open()
        except TableWriteError as exc:  # maintenance never fails a run: it waits for its next turn
            self.stats.inc_value("stdcrawl/table/maintenance_failed")
            logger.warning("table %s: no maintenance after version %s: %s", self.uri, version, exc)
            return MaintenanceResult(version if version is not None else -1, failed=["open"])
        return maintain(table, self.policy, table.version() if version is None else version, self.stats)

    # -- internals -------------------------------------------------------------------------------

    def ensure(self) -> DeltaTable:
        """The table, created empty (with its schema, partitioning and properties) when there is none yet."""
        try:
            return self.open()
        except TableMissing:
            pass
        try:
            return self._create()
        except DeltaError as exc:
            try:
                return self.open()  # another committer created it first
            except TableMissing:
                raise exc from None

    def _create(self) -> DeltaTable:
        parts = columns.partition_columns(self.partitioning or columns.DEFAULT_PARTITIONING)
        table = DeltaTable.create(
            self.uri,
            schema=columns.table_schema(parts),
            partition_by=list(parts) or None,
            name=TABLE_NAME,
            description="stdcrawl: one row per story of www.stdaily.com's English edition, at its latest revision",
            configuration={"delta.enableChangeDataFeed": "true", **self.policy.table_properties()},
            storage_options=self.storage_options or None,
        )
        logger.info("table %s: created, partitioned by %s", self.uri, ", ".join(parts) or "nothing")
        self.stats.inc_value("stdcrawl/table/created")
        return table

    def _merge(self, table: DeltaTable, upserts: pa.Table, deletes: dict[str, dict[str, Any]],
               props: CommitProperties) -> dict[str, int]:
        parts = tuple(table.metadata().partition_columns)
        names = columns.table_schema(parts).names
        ids = [str(id_) for id_ in upserts.column("id").to_pylist()]
        current = self._rows_now(table, [*ids, *deletes], parts)
        # A tombstone of a story without a row has nothing to delete. It is left out of the MERGE rather than
        # matched to no clause: with the change data feed on, delta-rs 1.6 turns such a source row into an
        # all-null change row that fails the NOT NULL checks.
        gone = [{**row, "_op": "delete"} for row in deletes.values() if row["id"] in current]
        absent = len(deletes) - len(gone)
        schema = columns.source_schema(parts)
        upsert_source = upserts.select(names)
        upsert_source = upsert_source.append_column("_op", pa.array(["upsert"] * len(ids), pa.string()))
        for i, name in enumerate(parts):
            own = upserts.column(name).to_pylist()
            matched = [current[id_][i] if id_ in current else value for id_, value in zip(ids, own, strict=True)]
            upsert_source = upsert_source.append_column(f"_match_{name}", pa.array(matched, schema.field(name).type))
        for row in gone:
            for i, name in enumerate(parts):
                row[f"_match_{name}"] = current[row["id"]][i]
        source = pa.concat_tables([upsert_source.cast(schema), columns.to_arrow(gone, schema)])
        before = table.version()
        metrics: dict[str, Any] = {}
        if source.num_rows:
            predicate = " AND ".join(["t.id = s.id", *(f"t.{name} = s._match_{name}" for name in parts)])
            metrics = (
                table.merge(source, predicate, source_alias="s", target_alias="t", streamed_exec=False,
                            commit_properties=props)
                .when_matched_delete("s._op = 'delete' AND t.revision < s.revision")
                .when_matched_update({n: f"s.{n}" for n in names}, "s._op = 'upsert' AND t.revision < s.revision")
                .when_not_matched_insert({n: f"s.{n}" for n in names}, "s._op = 'upsert'")
                .execute()
            )
        if table.version() == before:  # nothing to change: delta-rs made no commit, so record the run on its own
            write_deltalake(table, columns.table_schema(parts).empty_table(), mode="append", commit_properties=props)
        inserted = int(metrics.get("num_target_rows_inserted", 0))
        updated = int(metrics.get("num_target_rows_updated", 0))
        deleted = int(metrics.get("num_target_rows_deleted", 0))
        return {"inserted": inserted, "updated": updated, "deleted": deleted,
                "not_applied": source.num_rows + absent - inserted - updated - deleted}

    def _rows_now(self, table: DeltaTable, ids: Sequence[str], parts: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
        """The ids that have a row now, with the partition values of their rows."""
        if not ids or not table.file_uris():
            return {}
        # The whole id column, filtered here: a pushed-down filter trips over the files' string_view
        # statistics, and DataFusion queries keep the GIL while they wait on the store (deltalake 1.6).
        # No scanner threads: pyarrow's can outlive the interpreter and abort the process at exit (apache/arrow#34314).
        held = table.to_pyarrow_dataset().to_table(columns=["id", *parts], use_threads=False)
        found = held.filter(pc.is_in(held.column("id"), value_set=pa.array(list(ids), pa.string())))
        values = [found.column(name).to_pylist() for name in ["id", *parts]]
        return {row[0]: tuple(row[1:]) for row in zip(*values, strict=True)}

    def _count(self, result: CommitResult) -> None:
        self.stats.inc_value("stdcrawl/table/runs_committed")
        self.stats.inc_value("stdcrawl/table/inserted", result.inserted)
        self.stats.inc_value("stdcrawl/table/updated", result.updated)
        self.stats.inc_value("stdcrawl/table/deleted", result.deleted)
        if result.attempts > 1:
            self.stats.inc_value("stdcrawl/table/commit_retries", result.attempts - 1)
        if result.not_applied:
            # Expected when a run is replayed or a removed story's tombstone arrives again: INFO, not a warning.
            self.stats.inc_value("stdcrawl/table/not_applied", result.not_applied)
            logger.info("table %s: run %s: %d records not applied (not newer than the table's row, or no row to delete)",
                        self.uri, result.run_id, result.not_applied)
        logger.info("table %s: run %s committed as version %d: %d inserted, %d updated, %d deleted",
                    self.uri, result.run_id, result.version, result.inserted, result.updated, result.deleted)


def _check_run_id(run_id: Any) -> None:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r}: use letters, digits, '.', '_' and '-' (at most 64)")


def _check_status(status: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"run status {status!r}: use one of {', '.join(STATUSES)}")


def _commit_metadata(run_id: str, channel: str | None, status: str, extra: Mapping[str, Any] | None) -> dict[str, str]:
    _check_run_id(run_id)
    _check_status(status)
    meta: dict[str, str] = {}
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or key in _RESERVED or key.startswith("delta."):
            raise ValueError(f"commit metadata key {key!r} is reserved or not a string")
        meta[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    meta.update({"stdcrawl.run_id": run_id, "stdcrawl.status": status})
    if channel is not None:
        meta["stdcrawl.channel"] = channel
    return meta


Batch = tuple[str, Iterable[Mapping[str, Any]], Iterable[Mapping[str, Any]]]  # run id, articles, tombstones


class _At:
    """Where an article row went: its chunk and row in :class:`_Rows`, or why it could not be made."""

    __slots__ = ("chunk", "row", "error")

    def __init__(self, error: RecordError | None = None) -> None:
        self.chunk = self.row = -1
        self.error = error


class _Rows:
    """Article rows turned into Arrow a chunk at a time: only one chunk is ever held as Python objects.

    A row that does not fit is not an error here: its record may be superseded
    by a later revision of the story. :func:`_reduce` raises it if it is kept.
    """

    def __init__(self, schema: pa.Schema, chunk_rows: int) -> None:
        self.schema = schema
        self.chunk_rows = chunk_rows
        self.tables: list[pa.Table] = []
        self._rows: list[dict[str, Any]] = []
        self._at: list[_At] = []

    def add(self, record: Mapping[str, Any], run_id: str) -> _At:
        try:
            row = columns.article_row(record, run_id)
        except RecordError as exc:
            return _At(exc)
        at = _At()
        self._rows.append(row)
        self._at.append(at)
        if len(self._rows) >= self.chunk_rows:
            self._flush()
        return at

    def _flush(self) -> None:
        rows, places = self._rows, self._at
        self._rows, self._at = [], []
        try:
            table = columns.to_arrow(rows, self.schema)
        except RecordError:  # rare: convert one at a time to find which rows do not fit
            good = []
            for row, at in zip(rows, places, strict=True):
                try:
                    columns.to_arrow([row], self.schema)
                except RecordError as exc:
                    at.error = exc
                else:
                    good.append((row, at))
            rows, places = [row for row, _ in good], [at for _, at in good]
            table = columns.to_arrow(rows, self.schema)
        for i, at in enumerate(places):
            at.chunk, at.row = len(self.tables), i
        self.tables.append(table)

    def done(self) -> None:
        """The last records are in: convert the last chunk (which sets the ``error`` of the rows that do not fit)."""
        if self._rows:
            self._flush()

    def kept(self, places: Iterable[_At]) -> pa.Table:
        """The rows at ``places`` (once :meth:`done`), in the order they came."""
        wanted: list[set[int]] = [set() for _ in self.tables]
        for at in places:
            wanted[at.chunk].add(at.row)
        out = [table if len(rows) == table.num_rows else table.take(sorted(rows))
               for table, rows in zip(self.tables, wanted, strict=True) if rows]
        self.tables = []
        return pa.concat_tables(out) if out else self.schema.empty_table()


def _reduce(batches: Iterable[Batch]) -> tuple[pa.Table, dict[str, dict[str, Any]], dict[str, int]]:
    """The latest record of each id over runs in order, as upsert rows and delete rows, and what came in.

    The first record with an id's highest revision wins, as committing the runs
    one after the other would (an equal revision changes nothing). A record
    without a run id gets its run's. The upserts are an Arrow table of every
    column a table can have (:data:`_ROW_SCHEMA`), built :data:`CHUNK_ROWS`
    records at a time as the records stream in: a large run's records are
    never all Python objects at once (its ids are).
    """
    rows = _Rows(_ROW_SCHEMA, CHUNK_ROWS)
    latest: dict[str, tuple[int, _At | Mapping[str, Any]]] = {}
    counts = {"articles": 0, "tombstones": 0}
    for run_id, articles, tombstones in batches:
        for kind, records in (("article", articles), ("tombstone", tombstones)):
            for record in records:
                counts[kind + "s"] += 1
                if not isinstance(record, Mapping):
                    raise RecordError(f"run {run_id}: a {kind} record is a {type(record).__name__}, not a mapping")
                record_id, revision = record.get("id"), record.get("revision")
                if not isinstance(record_id, str) or not isinstance(revision, int) or isinstance(revision, bool):
                    raise RecordError(f"run {run_id}: {kind} {record_id!r}: an id and an integer revision are required")
                known = latest.get(record_id)
                if known is None or revision > known[0]:
                    latest[record_id] = (revision, rows.add(record, run_id) if kind == "article" else record)
    rows.done()
    places: list[_At] = []
    deletes: dict[str, dict[str, Any]] = {}
    for record_id, (_revision, kept) in latest.items():
        if isinstance(kept, _At):
            if kept.error is not None:
                raise kept.error
            places.append(kept)
        else:
            deletes[record_id] = columns.delete_row(kept)
    upserts = rows.kept(places)
    counts.update(upserts=upserts.num_rows, deletes=len(deletes))
    return upserts, deletes, counts


def _json_list(value: Any) -> list[str]:
    if not value:
        return []
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [str(v) for v in parsed] if isinstance(parsed, list) else []


def _schema_difference(want: list[dict[str, Any]], have: list[dict[str, Any]]) -> str:
    wanted = {f["name"]: f for f in want}
    held = {f["name"]: f for f in have}
    for name in wanted:
        if name not in held:
            return f"column {name} is missing"
    for name in held:
        if name not in wanted:
            return f"column {name} is not ours"
    for name, field in wanted.items():
        if field != held[name]:
            return f"column {name} is {json.dumps(held[name]['type'])[:80]}, not {json.dumps(field['type'])[:80]}" + (
                "" if field["type"] != held[name]["type"] else f" (nullable {held[name]['nullable']})")
    return "columns in another order"
