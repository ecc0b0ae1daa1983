"""The README stays true: its Python and SQL examples run against a crawled lake, its tables list what exists."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, stdcrawl_crawl
from stdcrawl import config
from stdcrawl import settings as defaults
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose ``data/`` holds two scheduled runs' lake (the README's examples say ``data/lake``)."""
    where = tmp_path_factory.mktemp("readme")
    with ReplicaServer(ReplicaConfig(articles=40, others=4)) as replica:
        for epoch in (0, 1):
            replica.set_epoch(epoch)
            run = stdcrawl_crawl(where / "data", site_url=replica.url, now=f"{replica.model.today_at(epoch)}T23:00:00+08:00")
            assert run.returncode == 0, run.output[-3000:]
    yield where


def test_the_readme_has_examples_to_run() -> None:
    assert len(blocks("python")) >= 2 and len(blocks("sql")) >= 2


@pytest.mark.parametrize("n", range(len(blocks("python"))))
def test_every_python_example_runs_against_a_crawled_lake(n: int, crawled: Path) -> None:
    out = subprocess.run([sys.executable, "-c", blocks("python")[n]], cwd=crawled, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip(), "the example printed nothing"


# DuckDB's delta extension from the duckdb-extension-delta package: the README's offline way to load it.
_DUCKDB = """
import glob, os, sys
import duckdb, duckdb_extension_delta
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false")
ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_delta.__file__), "**", "delta.duckdb_extension"), recursive=True)[0]
con.execute(f"LOAD '{ext}'")
rows = con.execute(sys.stdin.read()).fetchall()
print(len(rows))
"""


@pytest.mark.parametrize("n", range(len(blocks("sql"))))
def test_every_sql_example_runs_in_duckdb_against_a_crawled_lake(n: int, crawled: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _DUCKDB], input=blocks("sql")[n], cwd=crawled, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[-1]) > 0, "the query found no rows"


def test_the_change_log_query_reads_every_exported_record_and_no_reject(crawled: Path) -> None:
    query = next(q for q in blocks("sql") if "read_json" in q)
    script = _DUCKDB.replace("print(len(rows))", "print(json.dumps([list(r[:4]) for r in rows]))").replace("import glob", "import json, glob")
    out = subprocess.run([sys.executable, "-c", script], input=query, cwd=crawled, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = sorted(tuple(r) for r in json.loads(out.stdout))
    want = []
    for part in sorted((crawled / "data" / "lake" / "stdaily").glob("*/dt=*/run=*/part-*.jsonl.gz")):
        if part.parts[-4] == "rejects":
            continue
        for line in gzip.open(part, "rt", encoding="utf-8"):
            r = json.loads(line)
            want.append((r["id"], r["revision"], r["run_id"], r["deleted"]))
    assert got == sorted(want) and any(r[3] for r in want)  # the second run removed a story: a tombstone


def _readme_table(heading: str) -> str:
    section = README.split(f"\n## {heading}\n", 1)[1] if f"\n## {heading}\n" in README else README.split(f"\n### {heading}\n", 1)[1]
    return section.split("\n#", 1)[0]


def _shown(name: str, value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    table = _readme_table("Settings")
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `(STDCRAWL_\w+)` \| ([^|]*) \|", table, flags=re.MULTILINE)}
    public = [s.name for s in config.SETTINGS.values() if s.name.startswith("STDCRAWL_") and not s.internal]
    assert sorted(rows) == sorted(public)
    for name in public:
        value = getattr(defaults, name, "")
        if value not in ("", None):
            assert f"`{_shown(name, value)}`" in rows[name], name


def test_the_record_table_lists_every_field_of_the_schema() -> None:
    schema = json.loads((ROOT / "stdcrawl" / "schema" / "article.schema.json").read_text(encoding="utf-8"))
    table = _readme_table("The record")
    fields = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    assert fields == list(schema["properties"])


def test_ci_runs_the_readmes_test_command() -> None:
    two = README.split("## Two commands", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    install, tests = (line.split("#", 1)[0].strip() for line in two)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").replace("--quiet ", "")
    assert install.split(" && ")[0] in ci and tests in ci
