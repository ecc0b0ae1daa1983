"""The state store: the only memory between runs, one SQLite file in the data dir.

Per article it keeps what the last *stored* export said: id, canonical URL and
aliases, content hash, revision, published time, list summary, first and last
seen, last exported, and whether a tombstone went out. It is written by the export ledger
only, in one transaction per stored feed part, so a crash (even ``kill -9``)
leaves it at the last part known to be stored: what came after is redone by
the next run, nothing before it is. WAL journaling with full sync makes each
commit durable; a damaged file is reported, never silently replaced.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEIJING = dt.timezone(dt.timedelta(hours=8))

SCHEMA_VERSION = 1

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
    deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    id TEXT NOT NULL REFERENCES articles(id)
);
"""


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
            if version not in (0, SCHEMA_VERSION):
                raise StateError(f"state file {path} has schema version {version}; this stdcrawl reads {SCHEMA_VERSION}")
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

    _KNOWN = "SELECT id, url, aliases, content_hash, revision, published_at, deleted_at, summary FROM articles"

    @staticmethod
    def _known(row: tuple[Any, ...]) -> Known:
        return Known(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5], row[6] is not None, row[7])

    def lookup(self, key: str) -> Known | None:
        """The article known by this id, canonical URL or alias."""
        row = self.db.execute(
            f"{self._KNOWN} WHERE id = ?1 OR id = (SELECT id FROM urls WHERE url = ?1)", (key,)
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

    def commit(self, exports: Iterable[Export], run_id: str, at: str) -> int:
        """Record the exports of one stored feed part, all or nothing. Returns how many."""
        rows = list(exports)
        if not rows:
            return 0
        with self._transaction():
            for e in rows:
                if e.kind == "tombstone":
                    self.db.execute(
                        "UPDATE articles SET revision = ?, deleted_at = ?, last_seen = ?, last_exported = ?, last_run = ? WHERE id = ?",
                        (e.revision, at, at, at, run_id, e.id),
                    )
                    continue
                self.db.execute(
                    "INSERT INTO articles (id, url, aliases, channel, published_at, summary, content_hash, revision, "
                    "first_seen, last_seen, last_exported, last_run, deleted_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
                    "ON CONFLICT(id) DO UPDATE SET url = excluded.url, aliases = excluded.aliases, "
                    "channel = excluded.channel, published_at = excluded.published_at, "
                    "summary = coalesce(excluded.summary, articles.summary), "
                    "content_hash = excluded.content_hash, revision = excluded.revision, last_seen = excluded.last_seen, "
                    "last_exported = excluded.last_exported, last_run = excluded.last_run, deleted_at = NULL",
                    (e.id, e.url, json.dumps(list(e.aliases)), e.channel, e.published_at, e.summary, e.content_hash,
                     e.revision, at, at, at, run_id),
                )
                for url in (e.url, *e.aliases):
                    self.db.execute("INSERT OR REPLACE INTO urls (url, id) VALUES (?, ?)", (url, e.id))
        return len(rows)

    def touch(self, ids: Iterable[str], at: str) -> None:
        """Mark articles seen unchanged: information only, no export decision reads it."""
        with self._transaction():
            self.db.executemany("UPDATE articles SET last_seen = ? WHERE id = ?", ((at, i) for i in ids))

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
