"""The archive a crawl leaves: WARC files in the lake, read by warcio, and records that say where their bytes are.

warcio (not the package's fastwarc) is the independent reader; what should be
in the archive comes from the replica: its request log (every page it served,
with its status) and its model (which story lives at a path, which page is GBK).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, exported, stdcrawl_crawl, warcio_records
from test_s3 import CREDENTIALS, S3Server

from stdcrawl.archive import read_provenance
from stdcrawl.extract import extract_article
from stdcrawl.lake.stores import S3Store
from stdcrawl.lake.verify import records
from stdcrawl.replica.model import RECENT, ReplicaConfig
from stdcrawl.replica.server import LoggedRequest, ReplicaServer
from stdcrawl.replica.truth import compare, expected_records
from stdcrawl.state import StateStore
from stdcrawl.urls import SiteMap


def manifest(data: Path, run_id: str) -> Any:
    return json.loads(next((data / "lake" / "stdaily" / "articles").glob(f"dt=*/run={run_id}/_manifest.json")).read_text())


def run_id_of(stats: dict[str, Any]) -> str:
    return str(stats["stdcrawl/lake/run_folder"]).rstrip("/").rsplit("run=", 1)[1]


def pages_served(log: list[LoggedRequest]) -> Counter[tuple[str, int]]:
    """(path, status) of every page the replica served: all but robots.txt (the crawl fetches no pictures)."""
    return Counter((r.target, r.status) for r in log if r.target != "/robots.txt")


def verify(lake: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", str(lake)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@dataclass
class Runs:
    data: Path
    replica: ReplicaServer
    ids: list[str]
    logs: list[list[LoggedRequest]]
    stats: list[dict[str, Any]]

    def files(self, n: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The WARC files run n's manifest lists, each with its records."""
        return [(f, warcio_records(self.data / "lake" / f["key"])) for f in manifest(self.data, self.ids[n])["warc"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A first crawl and an unchanged second one, on the evening of the replica's last day, so that it re-checks.

    The replica serves each page as it first rendered it (``cache``): an unchanged page is the same bytes.
    """
    data = tmp_path_factory.mktemp("warc") / "data"
    with ReplicaServer(ReplicaConfig(articles=60), cache=True) as replica:
        now = f"{replica.model.today_at(0)}T23:00:00+08:00"
        ids, logs, stats = [], [], []
        for _ in range(2):
            before = len(replica.requests)
            run = stdcrawl_crawl(data, site_url=replica.url, now=now)
            assert run.returncode == 0, run.output[-3000:]
            ids.append(run_id_of(run.stats))
            logs.append(replica.requests[before:])
            stats.append(run.stats)
        yield Runs(data, replica, ids, logs, stats)


def test_a_crawl_leaves_warc_files_that_warcio_reads_holding_every_page_it_fetched(runs: Runs) -> None:
    files = runs.files(0)
    assert files, "the first run lists no WARC file"
    archived: Counter[tuple[str, int]] = Counter()
    for entry, in_file in files:
        data = (runs.data / "lake" / entry["key"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])
        assert in_file[0]["type"] == "warcinfo" and len(in_file) == entry["records"]
        # Built in the worker or by the writer, every record names its own file's warcinfo record.
        assert {r["headers"]["WARC-Warcinfo-ID"] for r in in_file[1:]} == {in_file[0]["headers"]["WARC-Record-ID"]}
        requests = {r["headers"]["WARC-Record-ID"] for r in in_file if r["type"] == "request"}
        for record in in_file:
            if record["type"] in ("response", "revisit"):
                assert record["headers"]["WARC-Concurrent-To"] in requests
                archived[(urlsplit(record["headers"]["WARC-Target-URI"]).path, record["http"].get_statuscode())] += 1
    # Every page the replica served, errors, redirects and retries included, once per time it was served.
    served = pages_served(runs.logs[0])
    assert {str(s) for _, s in served} >= {"200", "301", "404", "500", "503"}
    assert archived == Counter({(p, str(s)): n for (p, s), n in served.items()})
    assert runs.stats[0]["stdcrawl/archive/responses"] + runs.stats[0].get("stdcrawl/archive/revisits", 0) == sum(served.values())
    assert not list((runs.data / "spool").rglob("*.warc.gz"))  # stored, so no longer in the spool


def test_every_record_points_at_the_response_it_was_read_from(runs: Runs) -> None:
    site = SiteMap(runs.replica.url)
    articles = [r for r in exported(runs.data, "articles") if r["run_id"] == runs.ids[0]]
    assert compare(articles, expected_records(runs.replica.model)).ok
    by_file: dict[str, dict[int, dict[str, Any]]] = {}
    twins = 0
    for article in articles:
        assert article["provenance"], article["id"]
        assert article["fetched_url"] in [p["url"] for p in article["provenance"]]
        twins += len(article["provenance"]) == 2
        for entry in article["provenance"]:
            if entry["warc"] not in by_file:
                by_file[entry["warc"]] = {r["offset"]: r for r in warcio_records(runs.data / "lake" / entry["warc"])}
            record = by_file[entry["warc"]][entry["offset"]]
            assert record["type"] == "response"
            assert record["headers"]["WARC-Target-URI"] == entry["url"]
            assert record["headers"]["WARC-Record-ID"] == entry["record_id"]
            assert record["headers"]["WARC-Payload-Digest"] == entry["payload_digest"]
            assert site.canonical(entry["url"]) in [article["url"], *article["aliases"]]
            page = extract_article(record["payload"], site.canonical(entry["url"]) or "",
                                   content_type=record["http"].get_header("Content-Type"))
            assert (page.title, page.content_hash) == (article["title"], article["content_hash"])
    model = runs.replica.model
    assert twins == sum(1 for s in model.live_stories("Cooperation") if len(s.paths) == 2 and not s.robots) > 0


def test_a_gbk_page_is_archived_as_the_gbk_bytes_served(runs: Runs) -> None:
    story = next(s for s in runs.replica.model.stories if s.encoding == "gbk")
    path = next(iter(story.paths.values()))
    served = runs.replica.router.route(path).body  # the replica's page cache: the bytes it sent
    found = [r for _, records in runs.files(0) for r in records
             if r["type"] == "response" and urlsplit(r["headers"]["WARC-Target-URI"]).path == path]
    assert len(found) == 1
    payload = found[0]["payload"]
    assert payload == served
    assert "gbk" in found[0]["http"].get_header("Content-Type").lower()
    assert story.title in payload.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        payload.decode("utf-8")


def test_a_second_unchanged_run_writes_revisit_records_only_for_what_it_rechecked(runs: Runs) -> None:
    assert runs.stats[1]["stdcrawl/state/unchanged"] == RECENT  # the young articles were re-checked
    firsts = {r["headers"]["WARC-Record-ID"]: (entry["key"], r) for entry, in_file in runs.files(0)
              for r in in_file if r["type"] == "response"}
    revisits: Counter[tuple[str, int]] = Counter()
    for entry, in_file in runs.files(1):
        assert entry["responses"] == 0
        assert [r["type"] for r in in_file if r["type"] not in ("warcinfo", "request")] == ["revisit"] * entry["revisits"]
        for record in in_file:
            if record["type"] != "revisit":
                continue
            h = record["headers"]
            assert record["payload"] == b""  # headers only
            key, original = firsts[h["WARC-Refers-To"]]
            assert h["WARC-Refers-To-Container"] == key
            assert h["WARC-Refers-To-Target-URI"] == original["headers"]["WARC-Target-URI"] == h["WARC-Target-URI"]
            assert h["WARC-Refers-To-Date"] == original["headers"]["WARC-Date"]
            assert h["WARC-Payload-Digest"] == original["headers"]["WARC-Payload-Digest"]
            revisits[(urlsplit(h["WARC-Target-URI"]).path, record["http"].get_statuscode())] += 1
    served = pages_served(runs.logs[1])
    assert revisits == Counter({(p, str(s)): n for (p, s), n in served.items()})
    assert runs.stats[1]["stdcrawl/archive/revisits"] == sum(served.values()) < sum(pages_served(runs.logs[0]).values()) / 3
    assert "stdcrawl/archive/responses" not in runs.stats[1]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "size or SHA-256 differs from the manifest"),
        ("corrupt", "block digest"),
        ("missing", "is listed but missing"),
        ("extra", "00007.warc.gz is not in any manifest"),
    ],
)
def test_lake_verify_checks_the_warc_files(runs: Runs, tmp_path: Path, damage: str, message: str) -> None:
    good = verify(runs.data / "lake")
    assert good.returncode == 0, good.stdout
    assert "archive: 2 WARC files listed and checked" in good.stdout
    lake = tmp_path / "lake"
    shutil.copytree(runs.data / "lake", lake)
    folder = next((lake / "stdaily" / "articles").glob(f"dt=*/run={runs.ids[0]}"))
    listing = json.loads((folder / "_manifest.json").read_text())
    entry = listing["warc"][0]
    path = lake / entry["key"]
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:-100])
    elif damage == "corrupt":
        # A response record whose bytes changed, with a manifest that agrees: only reading the records tells.
        records = warcio_records(path)
        n = next(i for i, r in enumerate(records) if r["type"] == "response" and r["payload"])
        start, end = records[n]["offset"], records[n + 1]["offset"]  # each record is its own gzip member
        body = records[n]["payload"]
        member = gzip.decompress(data[start:end]).replace(body, body.replace(b"<", b"{", 1))
        data = data[:start] + gzip.compress(member) + data[end:]
        path.write_bytes(data)
        entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        (folder / "_manifest.json").write_text(json.dumps(listing))
    elif damage == "missing":
        path.unlink()
    elif damage == "extra":
        path.with_name("00007.warc.gz").write_bytes(data)
    proc = verify(lake)
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stdout, proc.stdout


def test_a_warc_file_that_cannot_be_stored_waits_in_the_spool_for_the_next_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        blocker = data / "lake" / "stdaily" / "warc"
        blocker.parent.mkdir(parents=True)
        blocker.write_text("a file where the warc folder should be")
        failed = stdcrawl_crawl(data, site_url=replica.url)
        assert failed.returncode == 1, failed.output[-3000:]
        assert "FAILED: 1 WARC file(s) not stored: kept in the spool" in failed.output
        spooled = list((data / "spool").rglob("*.warc.gz"))
        assert len(spooled) == 1 and Path(f"{spooled[0]}.warc.json").is_file()
        # The part was stored, but its records name a file the lake does not hold: not committed.
        assert failed.stats["stdcrawl/lake/parts_spooled"] == 1 and len(StateStore(data / "state.sqlite")) == 0
        assert verify(data / "lake").returncode == 1

        blocker.unlink()
        recovered = stdcrawl_crawl(data, site_url=replica.url)
        assert recovered.returncode == 0, recovered.output[-3000:]
        assert recovered.stats["stdcrawl/archive/files_recovered"] == 1
        assert recovered.stats["stdcrawl/lake/parts_recovered"] == 1
        assert recovered.stats.get("stdcrawl/state/new", 0) == 0
        truth = expected_records(replica.model)
    articles = exported(data, "articles")
    assert compare(articles, truth).ok
    resolve_every_provenance(data, articles)
    assert not list((data / "spool").rglob("*.warc.gz"))
    assert verify(data / "lake").returncode == 3  # whole; the run that met the outage is marked failed


def resolve_every_provenance(data: Path, articles: list[dict[str, Any]]) -> None:
    """Each provenance entry reads back (our reader, digests checked) as a page holding the record's title."""
    site = SiteMap("")
    for article in articles:
        assert article["provenance"], article["id"]
        for entry in article["provenance"]:
            page = read_provenance(entry, lambda key: data / "lake" / key)
            assert page.url == entry["url"] and page.status == 200
            read = extract_article(page.body, article["url"], content_type=page.header("Content-Type"))
            assert read.title == article["title"], (site, entry)


@pytest.mark.parametrize(("point", "n"), [("fetch", 30), ("commit", 2)])
def test_after_a_kill_9_the_next_run_leaves_a_lake_whose_provenance_all_resolves(tmp_path: Path, point: str, n: int) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=60)) as replica:
        settings = {"STDCRAWL_DATA_DIR": str(data), "STDCRAWL_SITE_URL": replica.url, "CONCURRENT_REQUESTS": "8",
                    "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"}
        cmd = [sys.executable, "tests/crash.py", point, str(n), "--"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        crashed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert crashed.returncode == -9, crashed.stdout[-2000:] + crashed.stderr[-3000:]
        assert list((data / "spool").rglob("*.warc.gz*")), "the killed run left no WARC file or temporary"
        after = stdcrawl_crawl(data, site_url=replica.url)
        assert after.returncode == 0, after.output[-3000:]
        assert after.stats["stdcrawl/archive/files_recovered"] >= 1
        truth = expected_records(replica.model)
    articles = exported(data, "articles")
    assert compare(articles, truth).ok
    resolve_every_provenance(data, articles)
    proc = verify(data / "lake")
    assert proc.returncode == 3 and "1 run(s) failed" in proc.stdout, proc.stdout  # whole; the killed run marked failed
    assert not list((data / "spool").rglob("*.warc.gz*"))


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = S3Server("warc-outage")
    server.start()
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    if server.server is not None and server.server._server is not None:
        server.server.stop()


def test_an_s3_outage_keeps_the_warc_files_in_the_spool_until_the_lake_is_back(s3: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    client = s3.client()
    lake = {"STDCRAWL_LAKE_URI": f"s3://{s3.bucket}/prod", "AWS_ENDPOINT_URL": s3.endpoint, "STDCRAWL_S3_ATTEMPTS": "1",
            "STDCRAWL_LAKE_BATCH_ITEMS": "20", "STDCRAWL_WARC_ROLL_SIZE": str(64 * 1024)}
    with ReplicaServer(ReplicaConfig(articles=120)) as replica:
        settings = {**lake, "STDCRAWL_SITE_URL": replica.url, "STDCRAWL_DATA_DIR": str(data), "DOWNLOAD_DELAY": "0",
                    "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2"}
        cmd = [sys.executable, "-m", "stdcrawl", "crawl"] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
        crawl = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not client.list_objects_v2(Bucket=s3.bucket, Prefix="prod/stdaily/warc/").get("KeyCount"):
            assert time.monotonic() < deadline and crawl.poll() is None, "no WARC file reached S3 while the crawl ran"
            time.sleep(0.02)
        s3.stop()  # the lake goes away in the middle of the run
        output, _ = crawl.communicate(timeout=120)
        assert crawl.returncode == 1, output[-3000:]
        assert "WARC file(s) not stored: kept in the spool" in output, output[-3000:]
        waiting = list((data / "spool").rglob("*.warc.gz.warc.json"))
        assert waiting, output[-4000:]

        s3.start()  # back, same port, same objects
        recovered = stdcrawl_crawl(data, site_url=replica.url, settings=lake)
        assert recovered.returncode == 0, recovered.output[-3000:]
        assert recovered.stats["stdcrawl/archive/files_recovered"] == len(waiting)
        truth = expected_records(replica.model)
    store = S3Store(s3.client(), s3.bucket, "prod")
    articles = list(records(store, "articles"))
    assert compare(articles, truth).ok
    cache: dict[str, bytes] = {}
    for article in articles:
        for entry in article["provenance"]:
            page = read_provenance(entry, lambda key: cache.setdefault(key, store.get(key)))
            assert page.url == entry["url"] and page.status == 200
    assert len(cache) > 2  # files rolled while records were being built in the worker for the one before
    for key, body in cache.items():
        (copy := tmp_path / key.replace("/", "_")).write_bytes(body)
        in_file = warcio_records(copy)
        assert {r["headers"]["WARC-Warcinfo-ID"] for r in in_file[1:]} == {in_file[0]["headers"]["WARC-Record-ID"]}, key
    proc = subprocess.run([sys.executable, "-m", "stdcrawl", "lake", "verify", f"s3://{s3.bucket}/prod", "--endpoint-url",
                           s3.endpoint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # whole; the run the outage cut short is marked failed
    assert "WARC files listed and checked" in proc.stdout and "1 run(s) failed" in proc.stdout
    assert not list((data / "spool").rglob("*.warc.gz*"))


def test_a_response_that_cannot_be_archived_is_a_log_line_and_a_counter_never_a_crash(tmp_path: Path) -> None:
    data, run_id = tmp_path / "data", "archive-blocked"
    blocker = data / "spool" / f"run={run_id}" / "stdaily" / "warc"  # where the run's WARC files would be written
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the run's WARC folder should be")
    with ReplicaServer(ReplicaConfig(articles=30)) as replica:
        run = stdcrawl_crawl(data, site_url=replica.url, settings={"STDCRAWL_RUN_ID": run_id})
        pages = sum(pages_served(replica.requests).values())
        truth = expected_records(replica.model)
    # The crawl goes on and finishes; its ERROR lines fail the error monitor (exit 1), as they should.
    assert "Spider closed (finished)" in run.output and run.returncode == 1, run.output[-3000:]
    assert not [k for k in run.stats if k.startswith("spider_exceptions/")]
    assert "Error caught on signal handler" not in run.output and "Unhandled error" not in run.output
    assert run.stats["stdcrawl/archive/write_failed"] == pages
    assert run.output.count("Response not archived: cannot create WARC file") == pages
    articles = exported(data, "articles")  # every record exported, none pointing at an archive that is not there
    assert compare(articles, truth).ok and all(a["provenance"] == [] for a in articles)
    assert manifest(data, run_id)["warc"] == []
