"""The lake on S3: a real S3 API (moto's server) on 127.0.0.1, read back with boto3."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import FAST, ROOT, leaks, stdcrawl_crawl
from moto.server import ThreadedMotoServer

from stdcrawl.lake.stores import S3Store
from stdcrawl.record import SCHEMA_VERSION
from stdcrawl.lake.verify import records
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import compare, expected_records

SECRET = "s3cr3t-never-logged-4f9a"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIATESTING", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    """moto in server mode on 127.0.0.1; stop() really closes the port, start() reopens it with the same data."""

    def __init__(self, bucket: str) -> None:
        self.port = 0
        self.bucket = bucket  # one per test: moto keeps its objects for the whole process
        self.server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]

    def stop(self) -> None:
        assert self.server is not None and self.server._server is not None
        self.server.stop()
        self.server._server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="AKIATESTING",
                            aws_secret_access_key=SECRET, region_name="us-east-1")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[S3Server]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = S3Server(re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-"))
    server.start()
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    if server.server is not None and server.server._server is not None:
        server.server.stop()


def lake_settings(s3: S3Server, batch: int) -> dict[str, str]:
    return {
        "STDCRAWL_LAKE_URI": f"s3://{s3.bucket}/prod",
        "AWS_ENDPOINT_URL": s3.endpoint,
        "STDCRAWL_LAKE_BATCH_ITEMS": str(batch),
        "STDCRAWL_S3_ATTEMPTS": "2",
    }


TABLE_READER = """
import json, os, sys
from deltalake import DeltaTable
uri, endpoint = sys.argv[1:3]
options = {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": "us-east-1"}
rows = DeltaTable(uri, storage_options=options).to_pyarrow_dataset().to_table(columns=["id", "content_hash"], use_threads=False)
print(json.dumps({r["id"]: r["content_hash"] for r in rows.to_pylist()}), flush=True)
# No interpreter teardown, as the committer: pyarrow's and delta-rs's threads can abort it after the answer
# ("terminate called without an active exception", seen in CI; apache/arrow#34314).
os._exit(0)
"""


def table_rows(s3: S3Server, prefix: str) -> dict[str, str]:
    """The current-articles table on S3, read by another process (delta-rs would hold this one's lock on moto)."""
    proc = subprocess.run([sys.executable, "-c", TABLE_READER, f"s3://{s3.bucket}/{prefix}/stdaily/tables/articles", s3.endpoint],
                          capture_output=True, text=True, timeout=60, env=os.environ)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(proc.stdout))


def test_a_run_lands_in_s3_and_reads_back_exactly(s3: S3Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=120)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url, settings=lake_settings(s3, 50))
        assert run.returncode == 0, run.output[-3000:]
        truth = expected_records(replica.model)

    client = s3.client()
    keys = sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=s3.bucket, Prefix="prod/")["Contents"])
    run_id = run.stats["stdcrawl/lake/run_folder"].rsplit("run=", 1)[1].rstrip("/")
    folder = next(k for k in keys if k.endswith("/_manifest.json")).rsplit("/", 1)[0]
    assert f"/run={run_id}" in folder and folder.startswith("prod/stdaily/articles/dt=")
    assert [k.rsplit("/", 1)[1] for k in keys if k.startswith(folder)] == [
        "_SUCCESS", "_manifest.json", "_report.json", "part-00000.jsonl.gz", "part-00001.jsonl.gz", "part-00002.jsonl.gz"
    ]
    assert f"prod/stdaily/_schemas/article/v{SCHEMA_VERSION}.schema.json" in keys
    manifest = json.loads(client.get_object(Bucket=s3.bucket, Key=f"{folder}/_manifest.json")["Body"].read())
    assert manifest["counts"]["new"] == len(truth) and manifest["finish_reason"] == "finished"
    exported = []
    for part in manifest["parts"]:
        body = client.get_object(Bucket=s3.bucket, Key="prod/" + part["key"])["Body"].read()
        assert (len(body), hashlib.sha256(body).hexdigest()) == (part["bytes"], part["sha256"])
        lines = [line for line in gzip.decompress(body).split(b"\n") if line]
        assert len(lines) == part["records"]
        exported += [json.loads(line) for line in lines]
    assert compare(exported, truth).ok
    assert sum(p["records"] for p in manifest["parts"]) == len(truth)

    verify = subprocess.run(
        [sys.executable, "-m", "stdcrawl", "lake", "verify", f"s3://{s3.bucket}/prod", "--endpoint-url", s3.endpoint],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=os.environ,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"1 of 1 run folders ok, {len(truth)} records" in verify.stdout
    # The secret reaches boto3 through the environment and nothing else.
    for text in (run.output, json.dumps(run.stats), json.dumps(manifest), verify.stdout):
        assert SECRET not in text


def test_an_s3_outage_mid_run_loses_and_duplicates_nothing(s3: S3Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    client = s3.client()
    with ReplicaServer(ReplicaConfig()) as replica:
        settings = {**FAST, **lake_settings(s3, 25), "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data),
                    "CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
        cmd = [sys.executable, "-m", "stdcrawl", "crawl"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        crawl = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not client.list_objects_v2(Bucket=s3.bucket, Prefix="prod/stdaily/articles/").get("KeyCount"):
            assert time.monotonic() < deadline and crawl.poll() is None, "no part reached S3 while the crawl ran"
            time.sleep(0.02)
        s3.stop()  # the lake goes away in the middle of the run
        output, _ = crawl.communicate(timeout=120)
        assert crawl.returncode == 1, output[-3000:]
        assert "not stored" in output and "the next run uploads it before crawling" in output, output[-3000:]
        spooled = list((data / "spool").rglob("part-*.jsonl.gz"))
        assert spooled, output[-6000:]

        # While the lake is still down, the next run refuses to crawl and keeps the spool.
        down = stdcrawl_crawl(data, site_url=replica.url, settings=lake_settings(s3, 25))
        assert down.returncode == 1 and down.stats.get("finish_reason") == "lake_unavailable", down.output[-4000:]
        assert down.stats.get("downloader/request_count", 0) == 0
        assert len(list((data / "spool").rglob("part-*.jsonl.gz"))) == len(spooled)

        s3.start()  # back, same port, same objects
        recovered = stdcrawl_crawl(data, site_url=replica.url, settings=lake_settings(s3, 25))
        assert recovered.returncode == 0, recovered.output[-3000:]
        assert recovered.stats["stdcrawl/lake/parts_recovered"] == len(spooled)
        truth = expected_records(replica.model)

    lake = S3Store(s3.client(), s3.bucket, "prod")
    comparison = compare(list(records(lake, "articles")), truth)
    assert comparison.ok, comparison.summary()
    assert not list((data / "spool").rglob("*.jsonl.gz"))
    # The table missed the run the outage cut short: the next run caught it up, on S3 too.
    assert table_rows(s3, "prod") == {r["id"]: r["content_hash"] for r in truth}


def test_credentials_given_as_settings_reach_s3_and_nothing_else(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = "planted-" + os.urandom(8).hex()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # moto accepts any key pair; the run can only write if the settings reached boto3.
    settings = {**lake_settings(s3, 50), "AWS_ACCESS_KEY_ID": "AKIAPLANTED", "AWS_SECRET_ACCESS_KEY": planted}
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=30)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url, settings=settings)
    assert run.returncode == 0, run.output[-3000:]
    assert run.stats["stdcrawl/lake/parts_stored"] >= 1
    client = s3.client()
    keys = [obj["Key"] for obj in client.list_objects_v2(Bucket=s3.bucket)["Contents"]]
    assert any(k.endswith("/_SUCCESS") for k in keys)
    found = [k for k in keys if planted.encode() in client.get_object(Bucket=s3.bucket, Key=k)["Body"].read()]
    assert found + leaks(planted, run, tmp_path) == []
