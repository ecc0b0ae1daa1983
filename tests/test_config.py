"""Configuration from the outside: every bad argument or setting is one line and exit 2; output a person can trust."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import FAST, ROOT, stdcrawl_crawl

from stdcrawl import __version__
from stdcrawl.config import SETTINGS, validate
from stdcrawl.project import project_settings
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import expected_records

SECRET = "s3cr3t-pw"
# (arguments, what the one line must say). Each was measured to end in a traceback, a wrong result or silence.
BAD = [
    (["-s", "STDCRAWL_KNOWN_STREAK=abc"], "STDCRAWL_KNOWN_STREAK"),
    (["-s", "STDCRAWL_KNOWN_STREAK=-1"], "STDCRAWL_KNOWN_STREAK"),
    (["-s", "STDCRAWL_RECHECK_DAYS=abc"], "STDCRAWL_RECHECK_DAYS"),
    (["-s", "STDCRAWL_RECHECK_DAYS=1e10"], "STDCRAWL_RECHECK_DAYS"),
    (["-s", "STDCRAWL_RECHECK_DAYS=nan"], "STDCRAWL_RECHECK_DAYS"),
    (["-s", "STDCRAWL_LAKE_BATCH_ITEMS=abc"], "STDCRAWL_LAKE_BATCH_ITEMS"),
    (["-s", "STDCRAWL_NEAR_DUPLICATE_BITS=abc"], "STDCRAWL_NEAR_DUPLICATE_BITS"),
    (["-s", "STDCRAWL_NEAR_DUPLICATE_BITS=100"], "STDCRAWL_NEAR_DUPLICATE_BITS"),
    (["-s", "STDCRAWL_PROGRESS_INTERVAL=abc"], "STDCRAWL_PROGRESS_INTERVAL"),
    (["-s", "STDCRAWL_MAX_RETRY_AFTER=abc"], "STDCRAWL_MAX_RETRY_AFTER"),
    (["-s", "STDCRAWL_MAX_CRAWL_DELAY=abc"], "STDCRAWL_MAX_CRAWL_DELAY"),
    (["-s", "STDCRAWL_SITE_URL=http://127.0.0.1:99999"], "STDCRAWL_SITE_URL"),
    (["-s", "DOWNLOAD_DELAY=abc"], "DOWNLOAD_DELAY"),
    (["-s", "CLOSESPIDER_TIMEOUT=abc"], "CLOSESPIDER_TIMEOUT"),
    (["-s", "LOG_LEVEL=LOUD"], "LOG_LEVEL"),
    (["-s", "STDCRAWL_PENDING_RUNS=abc"], "STDCRAWL_PENDING_RUNS"),
    (["-s", "STDCRAWL_HISTORY_RUNS=abc"], "STDCRAWL_HISTORY_RUNS"),
    (["-s", "STDCRAWL_NOW=0001-01-01T00:00:00+00:00"], "STDCRAWL_NOW"),
    (["-s", "STDCRAWL_NOW=2026-11-21T23:00:00"], "STDCRAWL_NOW"),
    (["-s", "STDCRAWL_SAMPLE_URLS=abc"], "STDCRAWL_SAMPLE_URLS"),
    (["-s", "STDCRAWL_DATA_DIR="], "STDCRAWL_DATA_DIR"),
    (["-s", "STDCRAWL_DATA_DIRR=/x"], "did you mean STDCRAWL_DATA_DIR?"),
    (["-s", "STDCRAWL_RUN_ID=../../etc"], "STDCRAWL_RUN_ID"),
    (["-s", "STDCRAWL_JOB=../../tmp/x"], "STDCRAWL_JOB"),
    (["-a", "sinse=2024-01-01"], "did you mean -a since="),
    (["-a", "name=../../etc"], "unknown spider argument -a name"),
    (["-a", "since=2024-13-01"], "since='2024-13-01' is not a date"),
    (["-a", "full_refresh=maybe"], "full_refresh='maybe'"),
    (["--nosuchoption"], "unrecognized arguments: --nosuchoption"),
    (["Sports"], "unknown channel 'Sports'"),
    (["cooperation", "news"], "one channel at a time"),
    (["-s", f"STDCRAWL_LAKE_URI=s3a://KEY:{SECRET}@bucket/x"], "must not hold credentials"),
    (["-s", f"STDCRAWL_LAKE_URI=https://KEY:{SECRET}@example.org/x"], "must not hold credentials"),
    (["-s", f"STDCRAWL_SITE_URL=http://user:{SECRET}@127.0.0.1:8000"], "must not hold credentials"),
    (["-s", f"AWS_ENDPOINT_URL=http://user:{SECRET}@127.0.0.1:9000"], "must not hold credentials"),
]
# A typo of every setting users may set is refused, with the right name suggested.
TYPOS = [(["-s", f"{name}S=1"], f"did you mean {name}?") for name, s in SETTINGS.items()
         if name.startswith("STDCRAWL_") and not s.internal]


def run(args: list[str], data: Path, site_url: str) -> subprocess.CompletedProcess[str]:
    settings = {**FAST, "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data)}
    given = {a.split("=", 1)[0] for a in args if "=" in a}
    cmd = [sys.executable, "-m", "stdcrawl", "crawl"]
    cmd += [a for k, v in settings.items() if k not in given for a in ("-s", f"{k}={v}")] + args
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_every_bad_value_and_typo_is_one_line_exit_2_and_nothing_done(tmp_path: Path) -> None:
    cases = BAD + TYPOS
    with ReplicaServer(ReplicaConfig(articles=10, others=2)) as replica:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda n: run(cases[n][0], tmp_path / f"data-{n}", replica.url), range(len(cases))))
        assert replica.requests == []  # not one request, for any of them
    for n, ((args, says), proc) in enumerate(zip(cases, results, strict=True)):
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        assert proc.returncode == 2, (args, lines[-5:])
        assert len(lines) == 1 and lines[0].startswith("Bad usage: ") and says in lines[0], (args, lines)
        assert SECRET not in lines[0]
        assert not (tmp_path / f"data-{n}").exists()  # nothing written: no state, no lake, no lock


def test_one_definition_holds_every_setting_and_its_default() -> None:
    assert validate(project_settings()) == []
    import stdcrawl.settings as defaults

    defined = {name for name in dir(defaults) if name.startswith("STDCRAWL_")}
    ours = {n for n, s in SETTINGS.items() if n.startswith("STDCRAWL_") and not s.internal}
    assert ours <= defined and all(SETTINGS[n].internal for n in defined - ours)  # each with its one default
    help_text = subprocess.run([sys.executable, "-m", "stdcrawl", "crawl", "--help"], cwd=ROOT, capture_output=True,
                               text=True, timeout=60).stdout
    for name in ours:
        default = getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        assert f"{name}={shown or '(empty)'}" in help_text, name
    for channel in ("cooperation", "innovation-china", "experts-in-china"):
        assert channel in help_text
    for argument in ("since", "until", "full_refresh"):
        assert f"-a {argument}=" in help_text


def test_version() -> None:
    for cmd in (["--version"], ["crawl", "--version"]):
        out = subprocess.run([sys.executable, "-m", "stdcrawl", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == f"stdcrawl {__version__}"


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_") and "__main__" in p.read_text()))
def test_every_benchmark_honours_help_and_runs_nothing(script: str) -> None:
    results = ROOT / "bench" / "results"
    before = {p: p.stat().st_size for p in results.glob("*")} if results.is_dir() else {}
    out = subprocess.run([sys.executable, f"bench/{script}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage:" in out.stdout.lower(), out.stderr[-2000:]
    after = {p: p.stat().st_size for p in results.glob("*")} if results.is_dir() else {}
    assert after == before


def test_records_to_stdout_are_pure_json_lines_and_the_summary_goes_to_stderr(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=20, others=2)) as replica:
        truth = expected_records(replica.model)
        for output in (["-o", "-"], ["-O", "-:jsonl"], ["-o=-:jsonlines"]):
            proc = run([*output, "-s", "LOG_LEVEL=WARNING"], tmp_path / "data", replica.url)
            assert proc.returncode == 0, proc.stderr[-3000:]
            records = [json.loads(line) for line in proc.stdout.splitlines()]
            assert {r["id"] for r in records} == {r["id"] for r in truth}
            assert "run  " in proc.stderr and "monitors" in proc.stderr
    # An ad-hoc run writes no lake run and no state: the scheduled run still exports everything.
    assert not (tmp_path / "data").exists()


def test_csv_keeps_nested_fields_as_json_cells(tmp_path: Path) -> None:
    with ReplicaServer(ReplicaConfig(articles=20, others=2)) as replica:
        proc = run(["-O", str(tmp_path / "out.csv")], tmp_path / "data", replica.url)
        truth = {r["id"]: r for r in expected_records(replica.model)}
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert {r["id"] for r in rows} == set(truth)
    for row in rows:
        assert json.loads(row["authors"]) == truth[row["id"]]["authors"]
        assert json.loads(row["body"]) == truth[row["id"]]["body"]


def test_a_finished_job_starts_afresh_and_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    job = {"STDCRAWL_JOB": "backfill"}
    with ReplicaServer(ReplicaConfig(articles=20, others=2)) as replica:
        first = stdcrawl_crawl(data, "-a", "since=2023-01-01", site_url=replica.url, settings=job)
        assert first.returncode == 0, first.output[-3000:]
        again = stdcrawl_crawl(data, "-a", "since=2023-01-01", site_url=replica.url, settings=job)
    assert again.returncode == 0, again.output[-3000:]
    assert "The job backfill had finished: starting it afresh" in again.output
    assert again.stats["downloader/request_count"] > 5  # a real walk again, not an empty resumed queue


def test_the_replicas_printed_command_works_as_printed(tmp_path: Path) -> None:
    serve = subprocess.Popen([sys.executable, "-m", "stdcrawl", "replica", "serve", "--articles", "10", "--others", "2"],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None
        serve.stdout.readline()
        printed = serve.stdout.readline().removeprefix("Crawl it with: ").split()
        assert printed[:2] == ["stdcrawl", "crawl"]
        proc = subprocess.run([sys.executable, "-m", "stdcrawl", *printed[1:], "-s", f"STDCRAWL_DATA_DIR={tmp_path}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr[-3000:]
    duration = next(line for line in proc.stdout.splitlines() if line.startswith("duration"))
    assert float(duration.split()[1]) < 20  # the live-site delays are off for our own server
