"""The local lake: layout, manifests, `stdcrawl lake verify`, and runs finished after a crash."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, exported, stdcrawl_crawl

from stdcrawl import schema
from stdcrawl.lake import LakeURI, LakeURIError
from stdcrawl.record import SCHEMA_VERSION
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records


def verify(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", str(root)], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def lake_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    """One finished run of a 60-article replica in parts of 20 records."""
    data = tmp_path_factory.mktemp("lake") / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url, settings={"STDCRAWL_LAKE_BATCH_ITEMS": "20"})
        assert run.returncode == 0, run.output[-3000:]
        return data, expected_records(replica.model)


def copy_lake(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lake"
    subprocess.run(["cp", "-r", str(source / "lake"), str(target)], check=True)
    return target


def test_layout_manifest_and_schemas(lake_run: tuple[Path, list[dict[str, object]]]) -> None:
    data, truth = lake_run
    folders = list((data / "lake" / "stdaily" / "articles").glob("dt=*/run=*"))
    assert len(folders) == 1
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == ["_SUCCESS", "_manifest.json", "_report.json", "part-00000.jsonl.gz", "part-00001.jsonl.gz", "part-00002.jsonl.gz"]
    manifest = json.loads((folders[0] / "_manifest.json").read_text())
    assert [p["records"] for p in manifest["parts"]] == [20, 20, len(truth) - 40]
    assert manifest["dataset"] == "articles" and manifest["schema_version"] == SCHEMA_VERSION
    # The schema the lake publishes is the shipped file, byte for byte.
    assert (data / "lake" / manifest["schema"]).read_bytes() == schema.raw("article")
    assert (folders[0] / "_SUCCESS").read_bytes() == b""
    assert compare(exported(data, "articles"), truth).ok
    assert all(r["schema_version"] == SCHEMA_VERSION for r in exported(data, "articles"))
    # Nothing but what the manifests list: no temporary files, no spool left behind.
    assert not [p for p in (data / "lake").rglob(".*")] and not list((data / "spool").rglob("*.gz"))


def test_verify_passes_a_good_lake(lake_run: tuple[Path, list[dict[str, object]]]) -> None:
    data, truth = lake_run
    proc = verify(data / "lake")
    assert proc.returncode == 0, proc.stdout
    assert f"1 of 1 run folders ok, {len(truth)} records" in proc.stdout


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "part-00001.jsonl.gz: size or SHA-256 differs from the manifest"),
        ("extra", "part-00009.jsonl.gz is not in the manifest"),
        ("missing", "part-00002.jsonl.gz is listed but missing"),
        ("count", "part-00000.jsonl.gz: 20 records, the manifest says 21"),
        ("invalid", "part-00000.jsonl.gz line 1: title"),
        ("unfinished", "no _SUCCESS: the run did not finish"),
    ],
)
def test_verify_finds_every_kind_of_damage(
    lake_run: tuple[Path, list[dict[str, object]]], tmp_path: Path, damage: str, message: str
) -> None:
    lake = copy_lake(lake_run[0], tmp_path)
    folder = next((lake / "stdaily" / "articles").glob("dt=*/run=*"))
    manifest_path = folder / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if damage == "truncate":
        (folder / "part-00001.jsonl.gz").write_bytes((folder / "part-00001.jsonl.gz").read_bytes()[:-10])
    elif damage == "extra":
        (folder / "part-00009.jsonl.gz").write_bytes((folder / "part-00000.jsonl.gz").read_bytes())
    elif damage == "missing":
        (folder / "part-00002.jsonl.gz").unlink()
    elif damage == "count":
        manifest["parts"][0]["records"] = 21
        manifest_path.write_text(json.dumps(manifest))
    elif damage == "invalid":
        lines = [line for line in gzip.decompress((folder / "part-00000.jsonl.gz").read_bytes()).split(b"\n") if line]
        record = json.loads(lines[0]) | {"title": ""}
        data = gzip.compress(b"\n".join([json.dumps(record).encode(), *lines[1:]]) + b"\n")
        (folder / "part-00000.jsonl.gz").write_bytes(data)
        manifest["parts"][0].update(bytes=len(data), sha256=__import__("hashlib").sha256(data).hexdigest())
        manifest_path.write_text(json.dumps(manifest))
    elif damage == "unfinished":
        (folder / "_SUCCESS").unlink()
    proc = verify(lake)
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stdout


def test_verify_refuses_what_is_not_a_lake(tmp_path: Path) -> None:
    proc = verify(tmp_path / "nowhere")
    assert proc.returncode == 2 and "no lake at" in proc.stderr and "Traceback" not in proc.stderr


def test_the_next_run_finishes_a_run_a_crash_left(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        first = stdcrawl_crawl(data, site_url=replica.url, settings={"STDCRAWL_LAKE_BATCH_ITEMS": "20"})
        assert first.returncode == 0
        # What a kill -9 after the parts, before _SUCCESS, leaves: no _SUCCESS, the run not complete,
        # a part uploaded but never committed, a temporary file of a part being written.
        folder = next((data / "lake" / "stdaily" / "articles").glob("dt=*/run=*"))
        (folder / "_SUCCESS").unlink()
        (folder / "_manifest.json").unlink()
        (folder / "part-00007.jsonl.gz").write_bytes((folder / "part-00000.jsonl.gz").read_bytes())
        (folder / ".part-00008.jsonl.gz.1a2b3c4d.part").write_bytes(b"half a part")
        db = sqlite3.connect(data / "state.sqlite")
        db.execute("UPDATE runs SET complete = 0, finished_at = NULL, finish_reason = NULL")
        db.commit()
        db.close()
        assert verify(data / "lake").returncode == 1

        second = stdcrawl_crawl(data, site_url=replica.url)
        assert second.returncode == 0, second.output[-3000:]
        assert second.stats["stdcrawl/lake/runs_recovered"] == 1
        assert second.stats["stdcrawl/lake/debris_removed"] == 2
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["finish_reason"] == "interrupted" and manifest["finished_by"] != manifest["run_id"]
        assert [p["key"].rsplit("/", 1)[1] for p in manifest["parts"]] == [f"part-0000{n}.jsonl.gz" for n in range(3)]
        assert compare(exported(data, "articles"), expected_records(replica.model)).ok
    checked = verify(data / "lake")
    # Whole again; the interrupted run is told apart: its folder says why in _FAILED, and verify exits 3.
    assert checked.returncode == 3 and f"failed (their data is whole; _FAILED says why): {folder.name.removeprefix('run=')}" in checked.stdout
    assert "finished by a later run" in (folder / "_FAILED").read_text()


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        ("s3://AKIA:secret@bucket/prefix", "must not hold credentials"),
        ("s3:///prefix", "has no bucket"),
        ("ftp://host/path", "use a local path or s3://bucket/prefix"),
        ("", "is empty"),
    ],
)
def test_lake_uris_that_cannot_be_used(uri: str, error: str) -> None:
    with pytest.raises(LakeURIError, match=error):
        LakeURI.parse(uri)


def test_a_lake_uri_with_credentials_is_bad_usage_and_never_logged(tmp_path: Path) -> None:
    run = stdcrawl_crawl(tmp_path / "data", site_url="http://127.0.0.1:9", settings={"STDCRAWL_LAKE_URI": "s3://AKIAX:hunter2@bucket/x"})
    assert run.returncode == 2 and "must not hold credentials" in run.output
    assert "hunter2" not in run.output


def test_a_part_is_read_back_by_its_newlines_only_not_by_line_breaks_inside_its_records() -> None:
    from stdcrawl.lake.parts import iter_part_records, part_records

    # Parts are written with ensure_ascii=False: a story's text may hold U+2028, U+0085 or a form feed, which
    # str.splitlines() takes for line ends; only the "\n" between records is one.
    records = [{"id": "a", "text": "one\u2028two\x85three\x0cfour\rfive"}, {"id": "b", "text": "plain"}]
    data = gzip.compress("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8"))
    assert part_records(data) == records == list(iter_part_records(data))
