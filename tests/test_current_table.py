"""The current-articles Delta table as a crawl keeps it: the truth after every run, its change feed, readers, crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import FAST, ROOT, arrow_table, stdcrawl_crawl
from deltalake import DeltaTable

from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import expected_records

TABLE = Path("lake") / "stdaily" / "tables" / "articles"


def evening(model: SiteModel, epoch: int) -> str:
    return f"{model.today_at(epoch)}T23:00:00+08:00"


def rows(table: DeltaTable) -> dict[str, tuple[str, int]]:
    got = arrow_table(table, columns=["id", "content_hash", "revision"]).to_pylist()
    return {r["id"]: (r["content_hash"], r["revision"]) for r in got}


def truth_of(model: SiteModel) -> dict[str, str]:
    return {r["id"]: r["content_hash"] for r in expected_records(model)}


def changes(table: DeltaTable, version: int) -> dict[str, set[str]]:
    """What the change feed says one version did: ids inserted, updated, deleted."""
    feed = pa.table(table.load_cdf(starting_version=version, ending_version=version).read_all()).select(["id", "_change_type"]).to_pylist()
    out: dict[str, set[str]] = {"insert": set(), "update_postimage": set(), "delete": set()}
    for row in feed:
        out.setdefault(row["_change_type"], set()).add(row["id"])
    return out


def test_the_table_follows_the_site_run_by_run_with_a_change_feed_and_time_travel(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=60, others=6)
    versions, truths = [], []
    with ReplicaServer(config) as replica:
        for epoch in (0, 1, 2):
            replica.set_epoch(epoch)
            run = stdcrawl_crawl(data, site_url=replica.url, now=evening(replica.model, epoch))
            assert run.returncode == 0, run.output[-3000:]
            table = DeltaTable(str(data / TABLE))
            truth = truth_of(replica.model)
            current = rows(table)
            assert {i: h for i, (h, _) in current.items()} == truth  # one row per story, tombstoned ones gone
            versions.append(run.stats["stdcrawl/table/version"])
            truths.append(truth)
            meta = table.history(1)[0]
            assert meta["stdcrawl.run_id"] == run.stats["stdcrawl/lake/run_folder"].rstrip("/").rsplit("run=", 1)[1]
            assert meta["stdcrawl.status"] == "ok"
            if epoch:
                before, now = truths[-2], truths[-1]
                feed = changes(table, versions[-1])
                assert feed["insert"] == set(now) - set(before)
                assert feed["update_postimage"] == {i for i in now if i in before and now[i] != before[i]}
                assert feed["delete"] == set(before) - set(now)
                assert len(feed["insert"]) == config.new_per_epoch and len(feed["delete"]) == config.removals_per_epoch
    first = DeltaTable(str(data / TABLE), version=versions[0])
    assert {i: h for i, (h, _) in rows(first).items()} == truths[0]  # the table as of the first run

    # Rebuilt from the JSONL change log alone, the table holds the same rows.
    maintained = rows(DeltaTable(str(data / TABLE)))
    rebuilt = subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "rebuild-table", str(data / "lake")], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rows(DeltaTable(str(data / TABLE))) == maintained


READER = """
import json, sys
import duckdb, polars as pl
from deltalake import DeltaTable
path = sys.argv[1]
table = DeltaTable(path)
schema = {f.name: str(f.type) for f in table.schema().fields}
frame = pl.read_delta(path)
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false")
import duckdb_extension_delta, glob, os
ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_delta.__file__), "**", "delta.duckdb_extension"), recursive=True)[0]
con.execute(f"LOAD '{ext}'")
types = dict(con.execute(f"DESCRIBE SELECT * FROM delta_scan('{path}')").fetchall()[i][:2] for i in range(len(schema)))
duck = con.execute(f"SELECT count(*), count(DISTINCT id) FROM delta_scan('{path}')").fetchone()
print(json.dumps({"deltalake_rows": table.to_pyarrow_dataset().to_table(columns=["id"], use_threads=False).num_rows, "polars_rows": frame.height,
                  "polars_types": {k: str(v) for k, v in frame.schema.items()}, "duckdb": duck, "duckdb_types": types,
                  "stdcrawl_imported": any(m.startswith("stdcrawl") for m in sys.modules)}))
# Three native runtimes in one process (delta-rs, polars, DuckDB) can abort at interpreter teardown
# ("terminate called without an active exception"), after everything checked is printed: no teardown.
sys.stdout.flush()
os._exit(0)
"""


def test_readers_without_stdcrawl_see_typed_columns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=30, others=3)) as replica:
        assert stdcrawl_crawl(data, site_url=replica.url).returncode == 0
        stories = len(expected_records(replica.model))
    out = subprocess.run([sys.executable, "-c", READER, str(data / TABLE)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got: dict[str, Any] = json.loads(out.stdout)
    assert not got["stdcrawl_imported"]
    assert got["deltalake_rows"] == got["polars_rows"] == got["duckdb"][0] == got["duckdb"][1] == stories
    types = got["polars_types"]
    assert types["published_at"].startswith("Datetime") and "UTC" in types["published_at"]
    assert types["published_date"] == "Date" and types["authors"].startswith("List(String")
    assert types["images"].startswith("List(Struct") and types["body"].startswith("List(Struct")
    duck = got["duckdb_types"]
    assert duck["published_at"] == "TIMESTAMP WITH TIME ZONE" and duck["published_date"] == "DATE"
    assert duck["authors"] == "VARCHAR[]" and duck["images"].startswith("STRUCT(")


@pytest.mark.parametrize("point", ["table-before", "table-after"])
def test_killed_around_its_table_commit_a_run_leaves_the_table_as_a_clean_run_would(point: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=40, others=4)
    with ReplicaServer(config) as replica:
        assert stdcrawl_crawl(data, site_url=replica.url, now=evening(replica.model, 0)).returncode == 0
        replica.set_epoch(1)
        settings = {**FAST, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data), "STDCRAWL_NOW": evening(replica.model, 1)}
        cmd = [sys.executable, str(ROOT / "tests" / "crash.py"), point, "1", "--"]
        cmd += [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        killed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        after = stdcrawl_crawl(data, site_url=replica.url, now=evening(replica.model, 1))
        assert after.returncode == 0, after.output[-3000:]
        truth = truth_of(replica.model)
    table = DeltaTable(str(data / TABLE))
    assert {i: h for i, (h, _) in rows(table).items()} == truth
    runs = [h.get("stdcrawl.run_id") for h in table.history() if h.get("stdcrawl.run_id")]
    assert len(runs) == len(set(runs)) == 3  # each run in the table once: the first, the killed, the next


def test_a_failed_run_is_told_apart_by_every_reader(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = ReplicaConfig(articles=40, others=4)
    with ReplicaServer(config) as replica:
        assert stdcrawl_crawl(data, site_url=replica.url).returncode == 0
    with ReplicaServer(replace(config, drift="meta")) as replica:
        failed = stdcrawl_crawl(data, "-a", "full_refresh=true", site_url=replica.url)
    assert failed.returncode == 1
    folder = Path(failed.stats["stdcrawl/lake/run_folder"].removeprefix(str(data / "lake") + "/"))
    run_dir = data / "lake" / folder
    assert (run_dir / "_SUCCESS").exists() and "monitor failed" in (run_dir / "_FAILED").read_text()
    assert json.loads((run_dir / "_report.json").read_text())["exit_status"] == 1
    assert json.loads((run_dir / "_manifest.json").read_text())["exit_status"] == 1
    assert DeltaTable(str(data / TABLE)).history(1)[0]["stdcrawl.status"] == "failed"
    verify = subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", str(data / "lake")], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 3 and "1 run(s) failed" in verify.stdout, verify.stdout


SITECUSTOMIZE = """
import atexit, os, signal, sys
if "stdcrawl.table.committer" in sys.orig_argv and os.environ.get("KILL_THE_COMMITTER"):
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
if sys.orig_argv[1:4] == ["-m", "stdcrawl", "crawl"] and os.environ.get("MODULES_TO"):
    atexit.register(lambda: open(os.environ["MODULES_TO"], "w").write("\\n".join(sorted(sys.modules))))
"""


def hooks(tmp_path: Path) -> str:
    """A folder for PYTHONPATH whose sitecustomize.py runs in the crawler and in every process it starts."""
    folder = tmp_path / "hooks"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return str(folder)


def test_the_crawler_never_loads_pyarrow_or_delta_rs_its_committer_does(tmp_path: Path) -> None:
    data, modules = tmp_path / "data", tmp_path / "modules.txt"
    with ReplicaServer(ReplicaConfig(articles=30, others=3)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url, env={"PYTHONPATH": hooks(tmp_path), "MODULES_TO": str(modules)})
        stories = len(expected_records(replica.model))
    assert run.returncode == 0, run.output[-3000:]
    loaded = set(modules.read_text().split())
    assert {"stdcrawl.spiders.channel", "stdcrawl.extensions.currenttable"} <= loaded  # the crawler's own modules
    assert not {name for name in loaded if name.split(".")[0] in ("pyarrow", "deltalake", "numpy")}
    assert len(arrow_table(DeltaTable(str(data / TABLE)), columns=["id"])) == stories


def test_a_committer_killed_mid_commit_fails_the_run_loudly_and_the_next_run_commits_it(tmp_path: Path) -> None:
    data, path = tmp_path / "data", hooks(tmp_path)
    config = ReplicaConfig(articles=40, others=4)
    with ReplicaServer(config) as replica:
        killed = stdcrawl_crawl(data, site_url=replica.url, now=evening(replica.model, 0),
                                env={"PYTHONPATH": path, "KILL_THE_COMMITTER": "1"})
        assert killed.returncode == 1, killed.output[-3000:]
        assert killed.stats["stdcrawl/table/commit_failed"] == 1 and "stdcrawl/table/runs_committed" not in killed.stats
        errors = [line for line in killed.output.splitlines() if "ERROR" in line and "table" in line]
        assert len(errors) == 1 and "committer ended with exit status -9" in errors[0], errors
        after = stdcrawl_crawl(data, site_url=replica.url, now=evening(replica.model, 0), env={"PYTHONPATH": path})
        assert after.returncode == 0, after.output[-3000:]
        assert after.stats["stdcrawl/table/runs_committed"] == 2  # the killed run's, then its own
        truth = truth_of(replica.model)
    table = DeltaTable(str(data / TABLE))
    assert {i: h for i, (h, _) in rows(table).items()} == truth
    runs = [h["stdcrawl.run_id"] for h in table.history() if h.get("stdcrawl.run_id")]
    assert len(runs) == len(set(runs)) == 2
