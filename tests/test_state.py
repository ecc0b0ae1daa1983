"""The SQLite state store: lookups by any URL of a story, all-or-nothing commits, safe when killed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stdcrawl.state import Export, Seen, StateError, StateStore

G2 = "https://www.stdaily.com/web/English/2023-05/08/content_1901234.html"
G1B = "https://www.stdaily.com/English/WorldNews/202305/" + "ab" * 16 + ".shtml"


def article(revision: int = 1, content_hash: str = "sha256:" + "1" * 64) -> Export:
    return Export("article", "stdaily:1901234", G2, (G1B,), "Cooperation", "2023-05-08T10:00:00+08:00", content_hash, revision)


def test_a_committed_article_is_found_by_id_url_and_alias(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    assert store.commit([article()], "run-1", "2026-11-27T00:00:00+00:00") == 1
    for key in ("stdaily:1901234", G2, G1B):
        known = store.lookup(key)
        assert known is not None and (known.id, known.revision, known.deleted) == ("stdaily:1901234", 1, False)
    assert store.lookup("https://www.stdaily.com/web/English/2023-05/08/content_1909999.html") is None
    assert len(store) == 1


def test_revisions_tombstones_and_first_seen(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    store.commit([article()], "run-1", "2026-11-01T00:00:00+00:00")
    store.commit([article(2, "sha256:" + "2" * 64)], "run-2", "2026-11-02T00:00:00+00:00")
    known = store.lookup(G2)
    assert known is not None and (known.revision, known.content_hash) == (2, "sha256:" + "2" * 64)
    tombstone = Export("tombstone", "stdaily:1901234", G2, (G1B,), "Cooperation", None, None, 3)
    store.commit([tombstone], "run-3", "2026-11-03T00:00:00+00:00")
    known = store.lookup(G1B)
    assert known is not None and known.deleted and known.revision == 3
    row = store.db.execute("SELECT first_seen, last_exported, last_run FROM articles").fetchone()
    assert row == ("2026-11-01T00:00:00+00:00", "2026-11-03T00:00:00+00:00", "run-3")
    store.touch([Seen("stdaily:1901234")], "2026-11-04T00:00:00+00:00")
    assert store.db.execute("SELECT last_seen FROM articles").fetchone()[0] == "2026-11-04T00:00:00+00:00"



def test_pending_articles_until_exported_read_again_or_given_up(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    other = "https://www.stdaily.com/web/English/2023-05/09/content_1901300.html"
    gone = "https://www.stdaily.com/web/English/2023-05/10/content_1901400.html"
    failures = [(G2, "Cooperation", "A summary", "http_500"), (other, "Cooperation", None, "too_large"),
                (gone, "Cooperation", None, "http_404"), ("https://x/a.html", "Comment", None, "http_500")]
    assert store.record_failures(failures, "2026-11-01T00:00:00+00:00", give_up_after=3) == []
    assert store.pending("Cooperation") == [(G2, "A summary"), (other, None), (gone, None)]
    # The same failures once more: the summary a list gave is kept, nothing is given up yet.
    again = [(u, c, None, r) for u, c, _, r in failures]
    assert store.record_failures(again, "2026-11-02T00:00:00+00:00", give_up_after=3) == []
    assert (G2, "A summary") in store.pending("Cooperation")
    # Exported: no longer pending (by URL or alias).
    store.commit([article()], "run-3", "2026-11-03T00:00:00+00:00")
    assert G2 not in dict(store.pending("Cooperation"))
    # Known, failed a re-check, then read again unchanged: no longer pending either.
    store.record_failures([(G1B, "Cooperation", None, "http_503")], "2026-11-03T00:00:00+00:00", give_up_after=3)
    store.touch([Seen("stdaily:1901234")], "2026-11-04T00:00:00+00:00")
    assert G1B not in dict(store.pending("Cooperation"))
    # A third failure in a row is given up.
    assert store.record_failures([failures[2]], "2026-11-05T00:00:00+00:00", give_up_after=3) == [gone]
    assert store.pending("Cooperation") == [(other, None)]
    assert store.pending("Comment") == [("https://x/a.html", None)]
    # A tombstone accounts for its article too.
    store.record_failures([(G2, "Cooperation", None, "http_503")], "2026-11-06T00:00:00+00:00", give_up_after=3)
    store.commit([Export("tombstone", "stdaily:1901234", G2, (G1B,), "Cooperation", None, None, 2)], "run-7", "2026-11-07T00:00:00+00:00")
    assert G2 not in dict(store.pending("Cooperation"))

def test_a_commit_is_all_or_nothing(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    broken = Export("article", "stdaily:1901235", None, (), None, None, None, 1)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        store.commit([article(), broken], "run-1", "2026-11-27T00:00:00+00:00")
    assert len(store) == 0


def test_a_process_killed_in_the_middle_of_a_commit_leaves_the_state_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    store = StateStore(path)
    store.commit([article()], "run-1", "2026-11-27T00:00:00+00:00")
    store.close()
    script = (
        "import os, sys; from stdcrawl.state import StateStore\n"
        f"s = StateStore(__import__('pathlib').Path({str(path)!r}))\n"
        "s.db.execute('BEGIN IMMEDIATE')\n"
        "s.db.execute(\"UPDATE articles SET revision = 99\")\n"
        "s.db.execute(\"INSERT INTO urls VALUES ('x', 'y')\")\n"
        "os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=30).returncode == 9
    reopened = StateStore(path)
    known = reopened.lookup(G2)
    assert known is not None and known.revision == 1
    assert reopened.lookup("x") is None


def test_a_damaged_or_foreign_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="not a usable SQLite database.*move it aside"):
        StateStore(path)
    assert path.read_bytes().startswith(b"this is not a database")
    newer = tmp_path / "newer.sqlite"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(StateError, match="schema version 7"):
        StateStore(newer)


def test_a_twin_met_later_becomes_an_alias_and_a_content_lookup_finds_its_story(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    g2_only = Export("article", "stdaily:1901234", G2, (), "Cooperation", "2023-05-08T10:00:00+08:00", "sha256:" + "1" * 64, 1)
    store.commit([g2_only], "run-1", "2026-11-01T00:00:00+00:00")
    found = store.lookup_content("sha256:" + "1" * 64)
    assert found is not None and found.id == "stdaily:1901234"
    assert store.lookup(G1B) is None
    store.touch([Seen("stdaily:1901234", (G1B,))], "2026-11-02T00:00:00+00:00")
    known = store.lookup(G1B)
    assert known is not None and known.id == "stdaily:1901234"


def test_a_version_1_state_file_is_migrated_and_keeps_its_old_hashes_marked(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, url TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]', channel TEXT, "
        "published_at TEXT, summary TEXT, content_hash TEXT, revision INTEGER NOT NULL, first_seen TEXT NOT NULL, "
        "last_seen TEXT NOT NULL, last_exported TEXT NOT NULL, last_run TEXT NOT NULL, deleted_at TEXT);"
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, spider TEXT NOT NULL, channel TEXT, dt TEXT NOT NULL, started_at TEXT NOT NULL, "
        "finished_at TEXT, finish_reason TEXT, counts TEXT, stats TEXT, complete INTEGER NOT NULL DEFAULT 0);"
        f"INSERT INTO articles VALUES ('stdaily:1901234', '{G2}', '[]', 'Cooperation', NULL, NULL, 'sha256:old', 1, 'a', 'a', 'a', 'r', NULL);"
        "PRAGMA user_version=1;"
    )
    db.close()
    store = StateStore(path)
    known = store.lookup("stdaily:1901234")
    assert known is not None and known.hash_version == 1 and known.content_hash == "sha256:old"
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert store.lookup_content("sha256:old") is None  # an old hash says nothing about today's content
