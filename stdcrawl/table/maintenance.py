"""Keeping the current-articles table cheap to read: compaction, checkpoints, vacuum. Pure, no Scrapy.

Every run's commit adds a few small Parquet files and one JSON log entry. Left
alone, a year of hourly runs is thousands of files to open and thousands of
log entries to replay on every read (``bench/table_reads.py`` measures it). The
schedule is decided from the version a commit produced, so it needs no state
of its own and every process that commits follows the same one:

- **checkpoint** every ``checkpoint_every`` versions: the table property
  ``delta.checkpointInterval``, honoured by delta-rs (and Spark) after any
  commit; readers then load one Parquet checkpoint plus the entries after it.
  One is also written right after a compaction.
- **compact** when the version is a multiple of ``compact_every``: small files
  are rewritten into files of up to ``target_file_size``, per partition;
  partitions with one file are left alone. The rewrite changes no data
  (``dataChange=false``), so the change feed shows nothing for it.
- **vacuum** when the version is a multiple of ``vacuum_every``: data files that
  no version of the last ``retention_days`` needs are deleted. Expired log
  entries (older than ``retention_days`` and before the latest checkpoint) go
  when a checkpoint is written.

A version number skipped by a concurrent commit only delays a job to the next
multiple. **What time travel keeps:** every version of the last
``retention_days`` (30: 720 hourly runs) can be loaded and read through the
change feed; older versions lose their log entries and files. Idempotency by
run id does not depend on that window (see ``stdcrawl/table/current.py``).

Failure modes: a job that fails (a conflict with a concurrent commit, the store
down) is logged as a warning, counted as ``stdcrawl/table/maintenance_failed``
and left for its next turn; it never fails the run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import DeltaError

from stdcrawl.table.counters import Stats
from stdcrawl.table.errors import one_line

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MaintenancePolicy:
    """When the table is compacted, checkpointed and vacuumed (in versions), and what time travel keeps."""

    compact_every: int = 24  # about a day of hourly runs
    checkpoint_every: int = 24
    vacuum_every: int = 168  # about a week
    retention_days: int = 30
    target_file_size: int = 64 * 2**20

    def __post_init__(self) -> None:
        for name in ("compact_every", "checkpoint_every", "vacuum_every", "retention_days", "target_file_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"MaintenancePolicy.{name} must be a positive integer, not {value!r}")

    def table_properties(self) -> dict[str, str]:
        """The Delta table properties that carry this policy, so that every writer follows it."""
        retention = f"interval {self.retention_days} days"
        return {
            "delta.checkpointInterval": str(self.checkpoint_every),
            "delta.logRetentionDuration": retention,
            "delta.deletedFileRetentionDuration": retention,
        }

    def due(self, version: int) -> list[str]:
        """The jobs due after a commit that produced ``version``, in the order they run."""
        jobs = []
        if version > 0 and version % self.compact_every == 0:
            jobs.append("compact")
        if version > 0 and version % self.vacuum_every == 0:
            jobs.append("vacuum")
        return jobs


@dataclass(slots=True)
class MaintenanceResult:
    version: int  # the version the schedule was read from
    done: list[str] = field(default_factory=list)  # jobs that ran: compact, checkpoint, vacuum
    failed: list[str] = field(default_factory=list)
    files_removed: int = 0  # by compaction
    files_added: int = 0
    files_vacuumed: int = 0
    seconds: float = 0.0


def maintain(table: DeltaTable, policy: MaintenancePolicy, version: int, stats: Stats) -> MaintenanceResult:
    """Run the jobs ``policy`` says are due after ``version``; never raises for a failed job."""
    result = MaintenanceResult(version)
    started = time.monotonic()
    for job in policy.due(version):
        try:
            if job == "compact":
                metrics = table.optimize.compact(
                    target_size=policy.target_file_size,
                    commit_properties=CommitProperties(custom_metadata={"stdcrawl.maintenance": "compact"}),
                )
                result.files_removed += int(metrics.get("numFilesRemoved", 0))
                result.files_added += int(metrics.get("numFilesAdded", 0))
                result.done.append("compact")
                # A fresh checkpoint right after the rewrite: the next reader skips the compaction's log entry too.
                table.create_checkpoint()
                table.cleanup_metadata()
                result.done.append("checkpoint")
                stats.inc_value("stdcrawl/table/compactions")
                stats.inc_value("stdcrawl/table/files_compacted", result.files_removed)
            elif job == "vacuum":
                removed = table.vacuum(
                    retention_hours=policy.retention_days * 24,
                    dry_run=False,
                    enforce_retention_duration=True,
                    commit_properties=CommitProperties(custom_metadata={"stdcrawl.maintenance": "vacuum"}),
                )
                result.files_vacuumed += len(removed)
                result.done.append("vacuum")
                stats.inc_value("stdcrawl/table/vacuums")
                stats.inc_value("stdcrawl/table/files_vacuumed", len(removed))
        except (DeltaError, OSError) as exc:
            result.failed.append(job)
            stats.inc_value("stdcrawl/table/maintenance_failed")
            logger.warning("table %s: %s after version %d failed, left for its next turn: %s",
                           table.table_uri, job, version, one_line(exc))
    if result.done:
        logger.info("table %s: after version %d: %s (%d files compacted into %d, %d vacuumed)", table.table_uri,
                    version, ", ".join(result.done), result.files_removed, result.files_added, result.files_vacuumed)
    result.seconds = time.monotonic() - started
    return result


