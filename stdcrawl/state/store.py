"""The state store: the only memory between runs, one SQLite file in the data dir.

Per article it keeps what the last *stored* export said: id, canonical URL and
aliases, content hash, fingerprint, revision, published time, list summary,
first and last seen, last exported, and whether a tombstone went out; per run
its facts (finish reason, whether its list walk was complete, its counts and
stats, whether its lake folders are finished); the lake parts stored; the
articles a run could not get (pending); the WARC files stored and, per URL, the
last archived copy of its payload (so that an unchanged page is a revisit).

This module reads and writes SQL; only the ledger (:mod:`stdcrawl.state.ledger`)
calls the writing methods, in one transaction per stored feed part, so a crash
(even ``kill -9``) leaves it at the last part known to be stored: what came
after is redone by the next run, nothing before it is. WAL journaling with
full sync makes each commit durable; a damaged file is reported, never
silently replaced. Schema version 2 (version 1 files are migrated in place).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEIJING = dt.timezone(dt.timedelta(hours=8))

SCHEMA_VERSION = 2
# content_hash definitions: 1 covered image URLs, source and editor; 2 is the story's own content.
HASH_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    channel TEXT,
    published_at TEXT,
    summary TEXT,
    content_hash TEXT,
    revision INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_exported TEXT NOT NULL,
    last_run TEXT NOT NULL,
    deleted_at TEXT,
    fingerprint TEXT,
    hash_version INTEGER NOT NULL DEFAULT 2
);
CREATE INDEX IF NOT EXISTS articles_content ON articles(content_hash);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    id TEXT NOT NULL REFERENCES articles(id)
);
CREATE TABLE IF NOT EXISTS pending (
    url TEXT PRIMARY KEY,
    channel TEXT,
    summary TEXT,
    reason TEXT NOT NULL,
    runs INTEGER NOT NULL,
    first_failed TEXT NOT NULL,
    last_failed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    spider TEXT NOT NULL,
    channel TEXT,
    dt TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    finish_reason TEXT,
    counts TEXT,
    stats TEXT,
    complete INTEGER NOT NULL DEFAULT 0,
    walk_complete INTEGER,
    exit_status INTEGER,
    table_version INTEGER
);
CREATE TABLE IF NOT EXISTS parts (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    dataset TEXT NOT NULL,
    records INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS warc_files (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    records INTEGER NOT NULL,
    responses INTEGER NOT NULL,
    revisits INTEGER NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS warc_copies (
    url TEXT PRIMARY KEY,
    payload_digest TEXT NOT NULL,
    key TEXT NOT NULL,
    offset INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    date TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Seen:
    """A known article read again with unchanged content."""

    id: str
    urls: tuple[str, ...] = ()  # URLs it was met at this time (its aliases from now on)
    content_hash: str | None = None  # its hash by today's definition, when the stored one is older
    fingerprint: str | None = None


class StateError(RuntimeError):
    """The state file cannot be used; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Known:
    """What the state remembers of one exported article."""

    id: str
    url: str
    aliases: tuple[str, ...]
    content_hash: str | None
    revision: int
    published_at: str | None
    deleted: bool
    summary: str | None = None
    hash_version: int = HASH_VERSION
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """A feed part stored in the lake: ``key`` below the lake root."""

    key: str
    dataset: str
    records: int
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class WarcFile:
    """A WARC file of the archive stored in the lake: ``key`` below the lake root."""

    key: str
    bytes: int
    sha256: str
    records: int
    responses: int
    revisits: int


# The last archived copy of a URL: (url, payload digest, key, offset, record id, WARC-Date).
CopyRow = tuple[str, str, str, int, str, str]


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    spider: str
    channel: str | None
    dt: str
    started_at: str
    finished_at: str | None
    finish_reason: str | None
    counts: dict[str, Any]
    complete: bool
    walk_complete: bool | None = None  # None: the run never said (it was killed)
    exit_status: int | None = None  # what the run exited with; None: it never said


@dataclass(frozen=True, slots=True)
class Export:
    """One record a stored feed part holds."""

    kind: str  # "article" or "tombstone"
    id: str
    url: str
    aliases: tuple[str, ...]
    channel: str | None
    published_at: str | None
    content_hash: str | None
    revision: int
    summary: str | None = None
    fingerprint: str | None = None


_MIGRATE_1_TO_2 = """
ALTER TABLE articles ADD COLUMN fingerprint TEXT;
ALTER TABLE articles ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN walk_complete INTEGER;
ALTER TABLE runs ADD COLUMN exit_status INTEGER;
ALTER TABLE runs ADD COLUMN table_version INTEGER;
"""


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=10000")
            if self.db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, SCHEMA_VERSION):
                raise StateError(f"state file {path} has schema version {version}; this stdcrawl reads {SCHEMA_VERSION}")
            if version == 1:
                # Articles exported before keep hash_version 1: their hash is compared the old way once.
                self.db.executescript("BEGIN IMMEDIATE;" + _MIGRATE_1_TO_2 + f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"state file {path} is not a usable SQLite database ({exc}); move it aside to start a fresh state "
                "(every article will then be exported again)"
            ) from None
        except OSError as exc:
            raise StateError(f"cannot open the state file {path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        self.db.close()

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def is_new(self) -> bool:
        """Nothing was ever recorded here: no article and no run."""
        return len(self) == 0 and self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0

    _KNOWN = ("SELECT id, url, aliases, content_hash, revision, published_at, deleted_at, summary, hash_version, fingerprint "
              "FROM articles")

    @staticmethod
    def _known(row: tuple[Any, ...]) -> Known:
        return Known(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5], row[6] is not None, row[7], row[8], row[9])

    def lookup(self, key: str) -> Known | None:
        """The article known by this id, canonical URL or alias."""
        row = self.db.execute(
            f"{self._KNOWN} WHERE id = ?1 OR id = (SELECT id FROM urls WHERE url = ?1)", (key,)
        ).fetchone()
        return self._known(row) if row else None

    def lookup_content(self, content_hash: str) -> Known | None:
        """The story whose last exported revision has this content (a twin met at its other URL)."""
        row = self.db.execute(
            f"{self._KNOWN} WHERE content_hash = ? AND hash_version = ? ORDER BY deleted_at IS NOT NULL, first_seen LIMIT 1",
            (content_hash, HASH_VERSION),
        ).fetchone()
        return self._known(row) if row else None

    def published_since(self, channel: str, since: dt.datetime) -> list[Known]:
        """The channel's live articles published at ``since`` or later, newest first."""
        threshold = since.astimezone(BEIJING).isoformat(timespec="seconds")
        rows = self.db.execute(
            f"{self._KNOWN} WHERE channel = ? AND published_at >= ? AND deleted_at IS NULL ORDER BY published_at DESC",
            (channel, threshold),
        )
        return [self._known(row) for row in rows]

    def commit(self, exports: Iterable[Export], run_id: str, at: str, part: Part | None = None) -> int:
        """Record one stored feed part and the exports it holds, all or nothing. Returns how many exports."""
        rows = list(exports)
        if not rows and part is None:
            return 0
        with self._transaction():
            if part is not None:
                self.db.execute(
                    "INSERT OR REPLACE INTO parts (key, run_id, dataset, records, bytes, sha256, stored_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (part.key, run_id, part.dataset, part.records, part.bytes, part.sha256, at),
                )
            for e in rows:
                self.db.executemany("DELETE FROM pending WHERE url = ?", ((url,) for url in (e.url, *e.aliases)))
                if e.kind == "tombstone":
                    self.db.execute(
                        "UPDATE articles SET revision = ?, deleted_at = ?, last_seen = ?, last_exported = ?, last_run = ? WHERE id = ?",
                        (e.revision, at, at, at, run_id, e.id),
                    )
                    continue
                self.db.execute(
                    "INSERT INTO articles (id, url, aliases, channel, published_at, summary, content_hash, revision, "
                    "first_seen, last_seen, last_exported, last_run, deleted_at, fingerprint, hash_version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET url = excluded.url, aliases = excluded.aliases, "
                    "channel = excluded.channel, published_at = excluded.published_at, "
                    "summary = coalesce(excluded.summary, articles.summary), "
                    "content_hash = excluded.content_hash, revision = excluded.revision, last_seen = excluded.last_seen, "
                    "last_exported = excluded.last_exported, last_run = excluded.last_run, deleted_at = NULL, "
                    "fingerprint = excluded.fingerprint, hash_version = excluded.hash_version",
                    (e.id, e.url, json.dumps(list(e.aliases)), e.channel, e.published_at, e.summary, e.content_hash,
                     e.revision, at, at, at, run_id, e.fingerprint, HASH_VERSION),
                )
                for url in (e.url, *e.aliases):
                    self.db.execute("INSERT OR REPLACE INTO urls (url, id) VALUES (?, ?)", (url, e.id))
        return len(rows)

    def start_run(self, run: Run) -> None:
        with self._transaction():
            self.db.execute(
                "INSERT INTO runs (run_id, spider, channel, dt, started_at, complete) VALUES (?, ?, ?, ?, ?, 0)",
                (run.run_id, run.spider, run.channel, run.dt, run.started_at),
            )

    def finish_run(
        self, run_id: str, finished_at: str, finish_reason: str, counts: dict[str, Any], stats: dict[str, Any] | None = None,
        *, walk_complete: bool = False, exit_status: int | None = None,
    ) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, finish_reason = ?, counts = ?, stats = ?, walk_complete = ?, exit_status = ? "
                "WHERE run_id = ?",
                (finished_at, finish_reason, json.dumps(counts, sort_keys=True),
                 json.dumps(stats or {}, sort_keys=True, default=str), int(walk_complete), exit_status, run_id),
            )

    def set_table_version(self, run_id: str, version: int) -> None:
        with self._transaction():
            self.db.execute("UPDATE runs SET table_version = ? WHERE run_id = ?", (version, run_id))

    def runs_not_in_table(self) -> list[tuple[Run, int | None]]:
        """Runs whose lake folders are finished but whose changes the table does not hold yet, oldest first,
        with their exit status."""
        rows = self.db.execute(
            "SELECT run_id, exit_status FROM runs WHERE complete = 1 AND table_version IS NULL ORDER BY started_at")
        return [(run, status) for run_id, status in rows if (run := self.run(run_id)) is not None]

    def last_run(self, spider: str, channel: str | None, before: str) -> Run | None:
        """The run of this spider and channel that started last, other than ``before`` (a run id)."""
        row = self.db.execute(
            f"{self._RUN} WHERE spider = ? AND channel IS ? AND run_id != ? ORDER BY started_at DESC LIMIT 1",
            (spider, channel, before),
        ).fetchone()
        return self._run(row) if row else None

    _RUN = ("SELECT run_id, spider, channel, dt, started_at, finished_at, finish_reason, counts, complete, walk_complete, "
            "exit_status FROM runs")

    @staticmethod
    def _run(r: tuple[Any, ...]) -> Run:
        walk = None if r[9] is None else bool(r[9])
        return Run(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}"), bool(r[8]), walk, r[10])

    def history(self, spider: str, channel: str | None, limit: int) -> list[dict[str, Any]]:
        """The stats of the last runs of this spider and channel that finished normally, newest first."""
        rows = self.db.execute(
            "SELECT stats FROM runs WHERE spider = ? AND channel IS ? AND finish_reason = 'finished' AND stats IS NOT NULL "
            "ORDER BY started_at DESC LIMIT ?",
            (spider, channel, limit),
        )
        return [json.loads(row[0]) for row in rows]

    def complete_run(self, run_id: str) -> None:
        with self._transaction():
            self.db.execute("UPDATE runs SET complete = 1 WHERE run_id = ?", (run_id,))

    def incomplete_runs(self) -> list[Run]:
        """Runs whose run folders were never finished (a crash, a storage outage), oldest first."""
        return [self._run(r) for r in self.db.execute(f"{self._RUN} WHERE complete = 0 ORDER BY started_at")]

    def run(self, run_id: str) -> Run | None:
        row = self.db.execute(f"{self._RUN} WHERE run_id = ?", (run_id,)).fetchone()
        return self._run(row) if row else None

    def parts(self, run_id: str) -> list[Part]:
        rows = self.db.execute(
            "SELECT key, dataset, records, bytes, sha256 FROM parts WHERE run_id = ? ORDER BY key", (run_id,)
        )
        return [Part(*row) for row in rows]

    def commit_warc(self, file: WarcFile, copies: Iterable[CopyRow], run_id: str, at: str) -> None:
        """Record one stored WARC file and the last copies of the URLs it holds, all or nothing.

        A copy replaces a URL's last copy only when it is as recent or more
        (a dead run's file stored late never hides a newer copy).
        """
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO warc_files (key, run_id, bytes, sha256, records, responses, revisits, stored_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (file.key, run_id, file.bytes, file.sha256, file.records, file.responses, file.revisits, at),
            )
            self.db.executemany(
                "INSERT INTO warc_copies (url, payload_digest, key, offset, record_id, date) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET payload_digest = excluded.payload_digest, key = excluded.key, "
                "offset = excluded.offset, record_id = excluded.record_id, date = excluded.date "
                "WHERE excluded.date >= warc_copies.date",
                list(copies),
            )

    def warc_files(self, run_id: str) -> list[WarcFile]:
        """The WARC files this run stored (its articles manifest lists them), in key order."""
        rows = self.db.execute(
            "SELECT key, bytes, sha256, records, responses, revisits FROM warc_files WHERE run_id = ? ORDER BY key", (run_id,)
        )
        return [WarcFile(*row) for row in rows]

    def warc_stored(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM warc_files WHERE key = ?", (key,)).fetchone() is not None

    def last_copy(self, url: str) -> CopyRow | None:
        """Where the last archived payload of this URL is, in a stored WARC file."""
        row = self.db.execute(
            "SELECT url, payload_digest, key, offset, record_id, date FROM warc_copies WHERE url = ?", (url,)
        ).fetchone()
        return tuple(row) if row else None

    def pending(self, channel: str | None) -> list[tuple[str, str | None]]:
        """(url, list summary) of the channel's articles a run could not get: the next run tries again."""
        return list(self.db.execute("SELECT url, summary FROM pending WHERE channel IS ? ORDER BY url", (channel,)))

    def record_failures(self, failures: Iterable[tuple[str, str | None, str | None, str]], at: str, give_up_after: int) -> list[str]:
        """Remember articles that failed this run (url, channel, summary, reason); forget those that
        failed ``give_up_after`` runs in a row. Returns the URLs given up on."""
        with self._transaction():
            for url, channel, summary, reason in failures:
                self.db.execute(
                    "INSERT INTO pending (url, channel, summary, reason, runs, first_failed, last_failed) "
                    "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT(url) DO UPDATE SET reason = excluded.reason, "
                    "runs = pending.runs + 1, last_failed = excluded.last_failed, summary = coalesce(excluded.summary, pending.summary)",
                    (url, channel, summary, reason, at, at),
                )
            gone = [row[0] for row in self.db.execute("SELECT url FROM pending WHERE runs >= ?", (give_up_after,))]
            self.db.execute("DELETE FROM pending WHERE runs >= ?", (give_up_after,))
        return gone

    def touch(self, seen: Iterable[Seen], at: str) -> None:
        """Articles read again unchanged: their last_seen moves, URLs they were met at become aliases,
        a hash of the old definition is replaced by the current one. No export decision reads last_seen."""
        with self._transaction():
            for s in seen:
                self.db.execute("UPDATE articles SET last_seen = ? WHERE id = ?", (at, s.id))
                if s.content_hash is not None:
                    self.db.execute(
                        "UPDATE articles SET content_hash = ?, hash_version = ?, fingerprint = coalesce(?, fingerprint) "
                        "WHERE id = ?", (s.content_hash, HASH_VERSION, s.fingerprint, s.id),
                    )
                for url in s.urls:
                    self.db.execute("INSERT OR IGNORE INTO urls (url, id) VALUES (?, ?)", (url, s.id))
                # Read whole again: a known article that failed an earlier re-check is no longer pending.
                self.db.execute("DELETE FROM pending WHERE url IN (SELECT url FROM urls WHERE id = ?)", (s.id,))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
