"""The WARC archive: written from replica pages and hand-made exchanges, read back by warcio and by our reader.

warcio's ArchiveIterator is the independent judge of what was written (the
package writes and reads with fastwarc); the truth of each page is the
replica's model and the bytes the replica served, never the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest
from conftest import ROOT, warcio_records

from stdcrawl.archive import (
    REVISIT_PROFILE,
    ArchiveError,
    Copy,
    Exchange,
    RunArchive,
    Stored,
    check,
    iter_responses,
    read_provenance,
    read_response,
    recover,
    remove_temporaries,
    temporaries,
)
from stdcrawl.archive.encoding import encode
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import Router

SITE = "https://www.stdaily.com"
WHEN = dt.datetime(2026, 11, 27, 2, 46, 29, 123456, tzinfo=dt.UTC)
WHEN_WARC = "2026-11-27T02:46:29.123456Z"  # WARC 1.1's W3C-ISO8601 form of WHEN
DT, RUN = "2026-11-27", "20261127T024629Z-5262c0"
WARC_KEY = re.compile(json.loads((ROOT / "stdcrawl/schema/article.schema.json").read_text())["$defs"]["warc_key"]["pattern"])
DIGEST = re.compile(json.loads((ROOT / "stdcrawl/schema/article.schema.json").read_text())["properties"]["provenance"]
                    ["items"]["properties"]["payload_digest"]["pattern"])
REQUEST_HEADERS = ((b"User-Agent", b"stdcrawl-test (+https://example.org/crawler)"), (b"Accept-Encoding", b"gzip, deflate, br"))


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


# -- the exchanges -----------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    exchange: Exchange
    kind: str  # replica | gbk | redirect | missing | unavailable | gzip


@pytest.fixture(scope="module")
def model() -> SiteModel:
    return SiteModel(ReplicaConfig(articles=30))


def replica_pages(model: SiteModel) -> list[Page]:
    """Every article page of the replica, its list pages' first pages, its 404 and 500 pages, as served."""
    router = Router(model)
    gbk = {path for s in model.stories if s.encoding == "gbk" for path in s.paths.values()}
    paths = list(model.by_path) + [e.path for e in model.hostile if e.kind in ("missing", "broken")]
    paths += ["/English/WorldNews/common_list.shtml", "/web/English/index.html"]
    pages = []
    for path in paths:
        reply = router.route(path)
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body))), *reply.headers]
        exchange = Exchange(SITE + path, reply.status, headers, reply.body, request_headers=REQUEST_HEADERS,
                            date=WHEN, ip_address="127.0.0.1")
        pages.append(Page(exchange, "gbk" if path in gbk else "replica"))
    return pages


def hand_made() -> list[Page]:
    html = b"<html><head><title>Moved</title></head><body>" + b"Science and Technology Daily " * 200 + b"</body></html>"
    url = SITE + "/web/English/2024-05/08/content_1900999.html"
    return [
        Page(Exchange(SITE + "/English/WorldNews/202405/0123456789abcdef0123456789abcdef.shtml", 301,
                      [(b"Location", url.encode()), (b"Content-Length", b"0")], b"", request_headers=REQUEST_HEADERS,
                      date=WHEN), "redirect"),
        Page(Exchange(SITE + "/web/English/2024-05/09/content_1900404.html", 404,
                      [(b"Content-Type", b"text/html; charset=utf-8")], b"<html><body>404 Not Found</body></html>",
                      date=WHEN), "missing"),
        Page(Exchange(SITE + "/web/English/2024-05/10/content_1900503.html", 503,
                      [(b"Content-Type", b"text/html"), (b"Retry-After", b"120")],
                      b"<html><body>Service Temporarily Unavailable</body></html>", reason="Slow Down", date=WHEN),
             "unavailable"),
        # As Scrapy hands it over below HttpCompressionMiddleware: gzip bytes, chunk framing already gone.
        Page(Exchange(url, 200, [(b"Content-Type", b"text/html; charset=utf-8"), (b"Content-Encoding", b"gzip"),
                                 (b"Transfer-Encoding", b"chunked"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")],
                      gzip.compress(html), method="GET", request_headers=REQUEST_HEADERS, date=WHEN,
                      ip_address="2001:db8::1"), "gzip"),
    ]


@dataclass
class Written:
    root: Path
    pages: list[Page]
    stored: list[Stored]
    files: list[Any]


def write(root: Path, pages: list[Page], *, run: str = RUN, roll_size: int = 10**8,
          last: dict[str, Copy] | None = None) -> Written:
    with RunArchive(root, dt=DT, run_id=run, roll_size=roll_size, info={"operator": "stdcrawl tests"}) as archive:
        stored = [archive.write(p.exchange, (last or {}).get(p.exchange.url)) for p in pages]
    return Written(root, pages, stored, archive.files)


@pytest.fixture(scope="module")
def written(model: SiteModel, tmp_path_factory: pytest.TempPathFactory) -> Written:
    return write(tmp_path_factory.mktemp("archive"), replica_pages(model) + hand_made())


# -- what is written ---------------------------------------------------------------------


def test_every_response_reads_back_in_warcio_byte_for_byte(written: Written) -> None:
    by_key = {f.key: warcio_records(Path(f.path)) for f in written.files}
    for page, stored in zip(written.pages, written.stored):
        ex = page.exchange
        assert WARC_KEY.fullmatch(stored.key) and stored.key.startswith(f"stdaily/warc/dt={DT}/run={RUN}/")
        records = by_key[stored.key]
        at = {r["offset"]: r for r in records}
        response = at[stored.offset]  # the offset points at the response record itself
        h = response["headers"]
        assert response["type"] == "response"
        assert h["WARC-Target-URI"] == ex.url
        assert h["WARC-Record-ID"] == stored.record_id
        assert h["WARC-Date"] == WHEN_WARC == stored.date
        assert response["payload"] == ex.body  # as received: GBK stays GBK, gzip stays gzip
        assert h["WARC-Payload-Digest"] == stored.payload_digest == sha1_b32(ex.body)
        assert DIGEST.fullmatch(stored.payload_digest)
        assert response["http"].get_statuscode() == str(ex.status)
        if ex.ip_address:
            assert h["WARC-IP-Address"] == ex.ip_address
        # The request it answered: linked both ways, the request line and headers as sent.
        request = next(r for r in records if r["headers"]["WARC-Record-ID"] == h["WARC-Concurrent-To"])
        assert request["type"] == "request" and request["headers"]["WARC-Concurrent-To"] == stored.record_id
        assert request["headers"]["WARC-Target-URI"] == ex.url
        path = ex.url.removeprefix(SITE)
        assert request["http"].protocol == "GET" and request["http"].statusline == f"{path} HTTP/1.1"
        assert request["http"].get_header("Host") == "www.stdaily.com"
        for name, value in cast(tuple[tuple[bytes, bytes], ...], ex.request_headers):  # bytes once built
            assert request["http"].get_header(name.decode()) == value.decode()


def test_the_replica_pages_errors_and_redirects_keep_their_bytes_and_headers(written: Written, model: SiteModel) -> None:
    responses = {}
    for f in written.files:
        for r in warcio_records(Path(f.path)):
            if r["type"] == "response":
                responses[r["headers"]["WARC-Target-URI"]] = r
    kinds = {p.kind: p.exchange for p in written.pages}
    gbk_story = next(s for s in model.stories if s.encoding == "gbk")
    gbk = responses[kinds["gbk"].url]
    with pytest.raises(UnicodeDecodeError):
        gbk["payload"].decode("utf-8")
    assert gbk_story.title in gbk["payload"].decode("gbk")
    assert gbk["http"].get_header("Content-Type").lower().endswith("charset=gbk")

    redirect = responses[kinds["redirect"].url]
    assert redirect["http"].statusline == "301 Moved Permanently"
    assert redirect["http"].get_header("Location") == kinds["gzip"].url and redirect["payload"] == b""
    assert responses[kinds["missing"].url]["http"].get_statuscode() == "404"
    unavailable = responses[kinds["unavailable"].url]["http"]
    assert unavailable.statusline == "503 Slow Down" and unavailable.get_header("Retry-After") == "120"

    zipped = responses[kinds["gzip"].url]
    assert zipped["http"].get_header("Content-Encoding") == "gzip"
    assert zipped["http"].get_header("Transfer-Encoding") is None  # the body has no chunk framing
    assert [v for k, v in zipped["http"].headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert gzip.decompress(zipped["payload"]).startswith(b"<html><head><title>Moved")
    for router_page in (p for p in written.pages if p.kind in ("replica", "gbk")):
        assert responses[router_page.exchange.url]["payload"] == router_page.exchange.body


def test_each_file_starts_with_warcinfo_and_each_record_is_its_own_gzip_member(written: Written) -> None:
    for f in written.files:
        records = warcio_records(Path(f.path))
        assert records[0]["type"] == "warcinfo"
        assert records[0]["headers"]["WARC-Filename"] == Path(f.path).name
        assert b"operator: stdcrawl tests" in records[0]["payload"]
        assert all(r["all_headers"][0] == ("WARC-Type", r["type"]) for r in records)
        data = Path(f.path).read_bytes()
        starts, rest = [], data
        while rest:
            starts.append(len(data) - len(rest))
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            assert inflater.decompress(rest).startswith(b"WARC/1.1\r\n")
            rest = inflater.unused_data
        assert starts == [r["offset"] for r in records]


def test_our_reader_gives_the_same_pages_in_order_and_by_provenance(written: Written) -> None:
    got = list(iter_responses([f.path for f in written.files]))
    assert [(r.url, r.status, r.body) for r in got] == [(p.exchange.url, p.exchange.status, p.exchange.body)
                                                        for p in written.pages]
    assert [(r.record_id, r.offset, r.date) for r in got] == [(s.record_id, s.offset, s.date) for s in written.stored]

    def open_key(key: str) -> Path:
        return written.root / key

    for page, stored in zip(written.pages, written.stored):
        provenance = stored.provenance()
        assert provenance == {"url": page.exchange.url, "warc": stored.key, "offset": stored.offset,
                              "record_id": stored.record_id, "payload_digest": sha1_b32(page.exchange.body)}
        page_back = read_provenance(provenance, open_key)
        assert page_back.body == page.exchange.body and page_back.status == page.exchange.status
    zipped = next(r for r in got if r.header("content-encoding") == "gzip")
    assert zipped.decoded_body() == gzip.decompress(zipped.body)
    # From bytes too, named by key.
    first = written.files[0]
    data = Path(first.path).read_bytes()
    assert [r.url for r in iter_responses([(first.key, data)])] == [r.url for r in got if r.file == first.path]
    at = read_response((first.key, data), written.stored[0].offset)
    assert at.file == first.key and at.body == written.pages[0].exchange.body


def test_closing_lists_every_file_with_its_size_and_sha256(written: Written) -> None:
    keys = sorted({s.key for s in written.stored})
    assert [f.key for f in written.files] == keys
    for f in written.files:
        path = Path(f.path)
        assert path == written.root / f.key
        data = path.read_bytes()
        assert f.size == len(data) and f.sha256 == hashlib.sha256(data).hexdigest()
        records = warcio_records(path)
        assert f.records == len(records)
        assert f.responses == sum(r["type"] == "response" for r in records)
        assert check(path) == []
    assert temporaries(written.root) == []
    assert [p.name for p in (written.root / keys[0]).parent.iterdir()] == [Path(k).name for k in keys]


def test_files_roll_at_the_size_given(model: SiteModel, tmp_path: Path) -> None:
    roll = 12_000
    pages = replica_pages(model)
    out = write(tmp_path, pages, roll_size=roll)
    assert len(out.files) > 5
    assert [Path(f.key).name for f in out.files] == [f"{n:05d}.warc.gz" for n in range(len(out.files))]
    for n, f in enumerate(out.files):
        records = warcio_records(Path(f.path))
        assert records[0]["type"] == "warcinfo"
        last_request = max(r["offset"] for r in records if r["type"] == "request")
        assert last_request < roll  # the file had not reached the size before its last exchange
        if n < len(out.files) - 1:
            assert f.size >= roll  # and it was closed only once it had
        # Every request is in the same file as its response.
        ids = {r["headers"]["WARC-Record-ID"]: r["type"] for r in records}
        assert all(ids.get(r["headers"]["WARC-Concurrent-To"]) == "request" for r in records if r["type"] == "response")
    assert [r.body for r in iter_responses([f.path for f in out.files])] == [p.exchange.body for p in pages]


def test_records_built_elsewhere_are_written_as_they_are_only_while_they_still_fit(model: SiteModel, tmp_path: Path) -> None:
    # As in a crawl: each exchange is encoded (in a worker) for the file the writer names when it is sent, and
    # written three exchanges later, so a roll in between leaves it built for the file before. One is built at
    # another compression level; the last repeats a payload.
    pages = replica_pages(model)
    exchanges = [p.exchange for p in pages] + [replace(pages[0].exchange, date=WHEN + dt.timedelta(seconds=1))]
    built: list[Any] = []
    stored: list[Stored] = []

    def write(m: int) -> None:  # the repeat is in an earlier file: the caller tells the writer its last copy
        stored.append(archive.write(exchanges[m], stored[0].copy if m == len(exchanges) - 1 else None, built[m]))

    with RunArchive(tmp_path, dt=DT, run_id=RUN, roll_size=30_000) as archive:
        for n, e in enumerate(exchanges):
            built.append(encode(e, archive.warcinfo_id, 1 if n == 5 else archive.compression_level))
            if n >= 3:
                write(n - 3)
        for m in range(len(exchanges) - 3, len(exchanges)):
            write(m)
    assert len(archive.files) > 2
    warcinfo = {}
    for f in archive.files:
        records = warcio_records(Path(f.path))
        assert records[0]["type"] == "warcinfo"
        warcinfo[f.key] = records[0]["headers"]["WARC-Record-ID"]
        # Every record names its own file's warcinfo record, whoever built it.
        assert {r["headers"]["WARC-Warcinfo-ID"] for r in records[1:]} == {warcinfo[f.key]}
    assert [r.body for r in iter_responses([f.path for f in archive.files])] == [e.body for e in exchanges]
    as_built = rebuilt = 0
    for n, (b, s) in enumerate(zip(built, stored, strict=True)):
        data = Path(tmp_path / s.key).read_bytes()
        fits = b.warcinfo_id == warcinfo[s.key] and n != 5 and not s.revisit
        if fits:
            assert data[s.offset - len(b.request):s.offset + len(b.response)] == b.request + b.response
            as_built += 1
        else:
            assert s.record_id != b.response_id
            rebuilt += 1
    assert stored[-1].revisit and stored[-1].revisit_of == stored[0].copy
    assert as_built >= 3 and rebuilt >= 3
    assert all(check(f.path) == [] for f in archive.files)


# -- revisits ----------------------------------------------------------------------------


def test_an_unchanged_payload_is_a_revisit_resolved_by_the_reader(model: SiteModel, tmp_path: Path) -> None:
    pages = replica_pages(model)
    first = write(tmp_path / "run1", pages, run="run-1")
    last = {s.url: s.copy for s in first.stored}
    # The next run: two pages edited, the rest as before.
    edited = {pages[3].exchange.url, pages[7].exchange.url}
    later = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    again = [Page(replace(p.exchange, body=p.exchange.body + (b"<!-- edited -->" if p.exchange.url in edited else b""),
                          date=later), p.kind) for p in pages]
    second = write(tmp_path / "run2", again, run="run-2", last=last)

    (file2,) = second.files
    records = {r["offset"]: r for r in warcio_records(Path(file2.path))}
    originals = {s.url: s for s in first.stored}
    for page, stored in zip(again, second.stored):
        record = records[stored.offset]
        if page.exchange.url in edited or not page.exchange.body:
            assert record["type"] == "response" and not stored.revisit
            assert record["payload"] == page.exchange.body
            continue
        original = originals[page.exchange.url]
        h = record["headers"]
        assert record["type"] == "revisit" and stored.revisit
        assert h["WARC-Profile"] == REVISIT_PROFILE
        assert h["WARC-Refers-To"] == original.record_id
        assert h["WARC-Refers-To-Target-URI"] == page.exchange.url
        assert h["WARC-Refers-To-Date"] == WHEN_WARC
        assert h["WARC-Payload-Digest"] == sha1_b32(page.exchange.body)
        assert record["payload"] == b"" and record["http"].get_statuscode() == str(page.exchange.status)
        # The last copy to remember, and where the provenance points: the original, with the bytes.
        assert stored.copy == original.copy and stored.provenance()["warc"] == original.key
    assert sum(s.revisit for s in second.stored) == len(pages) - len(edited)
    assert file2.size < first.files[0].size / 2  # headers only, not a second copy

    got = list(iter_responses([file2.path], originals=[f.path for f in first.files]))
    assert [(r.url, r.body, r.date) for r in got] == [(p.exchange.url, p.exchange.body, "2026-11-28T02:00:00.000000Z")
                                                      for p in again]
    assert {r.revisit_of for r in got if r.revisit_of} == {originals[p.exchange.url].record_id for p in again
                                                           if p.exchange.url not in edited}
    # The revisit names the file of its original: a key opener is enough to resolve it.
    opened: list[str] = []

    def open_key(key: str) -> Path:
        opened.append(key)
        return tmp_path / "run1" / key

    assert [r.body for r in iter_responses([file2.path], open_key=open_key)] == [p.exchange.body for p in again]
    assert opened == [first.files[0].key]
    revisit = next(s for s in second.stored if s.revisit)
    assert read_response(file2.path, revisit.offset, open_key=open_key).body == \
        next(p.exchange.body for p in again if p.exchange.url == revisit.url)

    # Without the originals: each revisit is a problem, raised or handed on, never a page without a body.
    problems: list[str] = []
    alone = list(iter_responses([file2.path], on_problem=problems.append))
    assert [r.url for r in alone] == sorted(edited, key=[p.exchange.url for p in again].index)
    assert len(problems) == len(pages) - len(edited)
    assert all("not found" in p and first.files[0].key in p and "\n" not in p for p in problems)
    with pytest.raises(ArchiveError, match="not found"):
        list(iter_responses([file2.path]))
    assert check(file2.path) == []
    assert check(file2.path, originals=[f.path for f in first.files]) == []
    assert check(file2.path, open_key=open_key) == []
    unresolved = check(file2.path, originals=[])
    assert len(unresolved) == len(pages) - len(edited) and all("not in the files given" in p for p in unresolved)


def test_a_payload_seen_earlier_in_the_run_is_a_revisit_in_the_same_file(tmp_path: Path) -> None:
    url = SITE + "/web/English/2026-04/15/content_100798.html"
    busy = b"<html><body>Service Temporarily Unavailable</body></html>"
    page = b"<html><body>" + b"text " * 500 + b"</body></html>"
    exchanges = [Exchange(url, 503, [(b"Retry-After", b"1")], busy), Exchange(url, 503, [(b"Retry-After", b"1")], busy),
                 Exchange(url, 200, [(b"Content-Type", b"text/html")], page),
                 Exchange(SITE + "/web/English/empty.html", 200, [], b""),
                 Exchange(SITE + "/web/English/empty.html", 200, [], b"")]
    with RunArchive(tmp_path, dt=DT, run_id=RUN, roll_size=10**6) as archive:
        stored = [archive.write(e) for e in exchanges]
    assert [s.revisit for s in stored] == [False, True, False, False, False]  # nothing to save on an empty body
    assert stored[1].revisit_of == stored[0].copy
    got = list(iter_responses([archive.files[0].path]))
    assert [(r.status, r.body, r.revisit_of) for r in got] == [
        (503, busy, None), (503, busy, stored[0].record_id), (200, page, None), (200, b"", None), (200, b"", None)]
    assert check(archive.files[0].path) == []



def test_the_writer_remembers_the_file_being_written_and_the_caller_the_files_before(tmp_path: Path) -> None:
    url = SITE + "/web/English/2026-04/15/content_100798.html"
    busy = Exchange(url, 503, [(b"Retry-After", b"1")], b"<html><body>Service Temporarily Unavailable</body></html>")
    with RunArchive(tmp_path, dt=DT, run_id=RUN, roll_size=1) as archive:  # every exchange in a file of its own
        first = archive.write(busy)
        alone = archive.write(busy)  # the first file is finished: its pages are the caller's to remember
        told = archive.write(busy, last=first.copy)
    assert (first.revisit, alone.revisit, told.revisit) == (False, False, True)
    assert told.revisit_of == first.copy and told.key != first.key
    assert [f.responses for f in archive.files] == [1, 1, 0] and archive.files[2].revisits == 1
    assert all(check(f.path) == [] for f in archive.files)


def test_in_a_crawl_a_payload_in_a_file_not_yet_committed_is_still_a_revisit(tmp_path: Path) -> None:
    """The run's archive extension remembers the copies of the files it has not committed yet (their upload is
    under way): the writer knows only the file being written, the state only the files committed."""
    import threading
    from types import SimpleNamespace

    from stdcrawl.extensions.warcarchive import WarcArchive
    from stdcrawl.lake.stores import LocalStore
    from stdcrawl.state.spool import Spool

    released, committed = threading.Event(), []

    class HeldStore(LocalStore):
        def put_file(self, key: str, path: Path) -> None:
            released.wait(10)  # the upload is under way until the test says otherwise
            super().put_file(key, path)

    ledger = SimpleNamespace(store=SimpleNamespace(last_copy=lambda url: None),
                             commit_warc=lambda file, copies, **kw: committed.append(file.key))
    counts: dict[str, int] = {}
    crawler = SimpleNamespace(stats=SimpleNamespace(inc_value=lambda k, n=1: counts.__setitem__(k, counts.get(k, 0) + n)),
                              get_extension=lambda cls: SimpleNamespace(ledger=ledger))
    archive = WarcArchive(crawler, store=HeldStore(tmp_path / "lake"), spool=Spool(tmp_path / "spool"),  # type: ignore[arg-type]
                          run_id=RUN, dt=DT, roll_size=1, info={}, capture=True)
    url = SITE + "/web/English/2026-04/15/content_100798.html"
    busy = Exchange(url, 503, [(b"Retry-After", b"1")], b"<html><body>Service Temporarily Unavailable</body></html>")
    first = archive.write(busy)
    again = archive.write(busy)  # in a file of its own (roll size 1), the first file's upload still under way
    assert first is not None and again is not None and not committed
    assert again.revisit_of == first.copy and again.key != first.key
    released.set()
    assert archive.flush() == [] and committed == [first.key, again.key]
    assert counts == {"stdcrawl/archive/responses": 1, "stdcrawl/archive/revisits": 1, "stdcrawl/archive/files_stored": 2,
                      "stdcrawl/archive/bytes_stored": sum(f.size for f in archive.archive.files)}

# -- checks ------------------------------------------------------------------------------


def members_of(data: bytes) -> list[bytes]:
    out = []
    while data:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out.append(inflater.decompress(data))
        data = inflater.unused_data
    return out


def test_check_finds_every_kind_of_damage(written: Written) -> None:
    path = Path(written.files[0].path)
    data = path.read_bytes()
    plains = members_of(data)
    n = next(i for i, p in enumerate(plains) if b"WARC-Type: response" in p and len(p) > 2000)

    def problems(damaged: bytes) -> list[str]:
        found = check(("damaged.warc.gz", damaged))
        assert found and all(p.startswith("damaged.warc.gz") and "\n" not in p for p in found)
        return found

    assert any("cut off" in p for p in problems(data[:-40]))
    assert any("not a gzip member" in p for p in problems(data + b"junk"))
    flipped = plains[n].replace(b"Science", b"Sciencf", 1)
    assert any("payload digest" in p for p in problems(b"".join(gzip.compress(p) for p in plains[:n] + [flipped] + plains[n + 1:])))
    merged = b"".join(gzip.compress(p) for p in plains[:n]) + gzip.compress(plains[n] + plains[n + 1]) + \
        b"".join(gzip.compress(p) for p in plains[n + 2:])
    assert any("holds 2 records" in p for p in problems(merged))
    lying = plains[n].replace(b"Content-Length: ", b"Content-Length: 1", 1)
    assert any("Content-Length" in p for p in problems(b"".join(gzip.compress(p) for p in plains[:n] + [lying] + plains[n + 1:])))
    request = plains[n - 1].replace(b"stdcrawl-test", b"stdcrawl-tesu", 1)  # a header, not the payload: the block digest
    assert any("block digest" in p for p in problems(b"".join(gzip.compress(p) for p in plains[:n - 1] + [request] + plains[n:])))
    undated = plains[n].replace(b"WARC-Date: 2026-11-27T", b"WARC-Date: 27.11.2026 ", 1)
    assert any("WARC-Date" in p for p in problems(b"".join(gzip.compress(p) for p in plains[:n] + [undated] + plains[n + 1:])))
    no_info = b"".join(gzip.compress(p) for p in plains[1:])
    assert any("not a warcinfo" in p for p in problems(no_info))
    orphan = b"".join(gzip.compress(p) for p in plains[:n - 1] + plains[n:])  # a response without its request
    assert any("WARC-Concurrent-To" in p for p in problems(orphan))
    assert check(("whole.warc.gz", data)) == []
    with pytest.raises(ArchiveError, match="cannot open"):
        check(path.with_name("missing.warc.gz"))


def test_the_reader_never_hands_on_a_page_whose_bytes_do_not_match_its_digest(written: Written) -> None:
    path = Path(written.files[0].path)
    plains = members_of(path.read_bytes())
    n = next(i for i, p in enumerate(plains) if b"WARC-Type: response" in p and b"Science" in p)
    zipped = [gzip.compress(p) for p in plains[:n] + [plains[n].replace(b"Science", b"Sciencf", 1)] + plains[n + 1:]]
    damaged, offset = b"".join(zipped), sum(map(len, zipped[:n]))
    url = next(line for line in plains[n].split(b"\r\n") if line.startswith(b"WARC-Target-URI")).split(b" ")[1].decode()
    with pytest.raises(ArchiveError, match="does not match its digest"):
        list(iter_responses([("damaged.warc.gz", damaged)]))
    problems: list[str] = []
    got = [r.url for r in iter_responses([("damaged.warc.gz", damaged)], on_problem=problems.append)]
    assert url not in got and len(got) == len([p for p in plains if b"WARC-Type: response" in p]) - 1
    assert len(problems) == 1 and url in problems[0]
    with pytest.raises(ArchiveError, match="does not match its digest"):
        read_response(("damaged.warc.gz", damaged), offset)


def test_a_revisit_whose_original_holds_other_bytes_is_caught(written: Written, tmp_path: Path) -> None:
    """The state store's last copy out of step with the archive: it names a record of another payload."""
    a, b = written.stored[0], written.stored[1]
    body_b = written.pages[1].exchange.body
    lying = replace(a.copy, payload_digest=sha1_b32(body_b))  # a's record, b's digest
    out = write(tmp_path, [Page(replace(written.pages[1].exchange, url=a.url), "replica")], run="run-2",
                last={a.url: lying})
    assert out.stored[0].revisit
    with pytest.raises(ArchiveError, match="has payload digest"):
        list(iter_responses([out.files[0].path], originals=[f.path for f in written.files]))
    found = check(out.files[0].path, originals=[f.path for f in written.files])
    assert len(found) == 1 and "payload digest" in found[0] and "differs from its original" in found[0]
    assert b.payload_digest == sha1_b32(body_b)


def test_reading_at_a_wrong_place_is_one_clear_error(written: Written) -> None:
    path = written.files[0].path
    stored = written.stored[0]
    with pytest.raises(ArchiveError, match=r"@0: a warcinfo record here, not a response|warcinfo"):
        read_response(path, 0)
    with pytest.raises(ArchiveError) as exc:
        read_response(path, stored.offset + 5)
    assert "\n" not in str(exc.value) and f"@{stored.offset + 5}" in str(exc.value)
    wrong = dict(stored.provenance(), record_id="<urn:uuid:00000000-0000-4000-8000-000000000000>")
    with pytest.raises(ArchiveError, match="as the provenance says"):
        read_provenance(wrong, lambda key: written.root / key)  # type: ignore[arg-type]


# -- failures ----------------------------------------------------------------------------

CHILD = """
import json, os, signal, sys, datetime as dt
from stdcrawl.archive import Exchange, RunArchive, ArchiveError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past RLIMIT_FSIZE then fails with EFBIG, as on a full disk
root, mode, roll = sys.argv[1], sys.argv[2], int(sys.argv[3])
archive = RunArchive(root, dt="2026-11-27", run_id="crash", roll_size=roll)
for n in range(60):
    body = (b"<html><body>%d " % n) + os.urandom(1500).hex().encode() + b"</body></html>"
    try:
        stored = archive.write(Exchange("https://www.stdaily.com/web/English/page_%d.html" % n, 200, [], body))
    except ArchiveError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        continue
    print(json.dumps({"n": n, "key": stored.key, "offset": stored.offset, "files": len(archive.files)}), flush=True)
    if mode == "kill" and n == 30:
        os.kill(os.getpid(), signal.SIGKILL)
print(json.dumps({"closed": [f.to_dict() for f in archive.close()]}), flush=True)
"""


def child(root: Path, mode: str, roll: int, fsize: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    def limit() -> None:
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root), mode, str(roll)], capture_output=True, text=True, timeout=60,
                          preexec_fn=limit, env=env, cwd=ROOT)
    assert proc.stderr == "" or proc.returncode != 0, proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


def test_a_crash_leaves_only_temporaries_and_recovery_keeps_every_whole_record(tmp_path: Path) -> None:
    code, lines = child(tmp_path, "kill", 40_000)
    assert code == -signal.SIGKILL
    closed_before = lines[-1]["files"]  # files the run had finished before it died
    finals = sorted(tmp_path.rglob("*.warc.gz"))
    assert len(finals) == closed_before >= 1 and all(check(p) == [] for p in finals)
    (temp,) = temporaries(tmp_path)
    assert temp.name.startswith(".") and temp.name.endswith(".part")
    # The process died between writes; cut the temporary mid-member as a death mid-write would.
    with temp.open("r+b") as out:
        out.truncate(temp.stat().st_size - 100)
    recovered = recover(tmp_path)
    assert [f.key for f in recovered] == [lines[-1]["key"]] and temporaries(tmp_path) == []
    path = tmp_path / recovered[0].key
    assert check(path) == [] and recovered[0].size == path.stat().st_size
    assert recovered[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    urls = [r.url for p in sorted(tmp_path.rglob("*.warc.gz")) for r in iter_responses([p])]
    # Every exchange reported stored is there but the one the cut destroyed.
    assert urls == [f"https://www.stdaily.com/web/English/page_{line['n']}.html" for line in lines[:-1]]
    for line in lines[:-1]:
        assert read_response(tmp_path / line["key"], line["offset"]).url.endswith(f"page_{line['n']}.html")


def test_a_run_started_again_numbers_past_the_temporaries_which_can_be_removed(tmp_path: Path) -> None:
    child(tmp_path, "kill", 40_000)
    (temp,) = temporaries(tmp_path)
    with RunArchive(tmp_path, dt=DT, run_id="crash", roll_size=1000) as again:  # the same run id: a resumed job
        stored = again.write(Exchange(SITE + "/a.html", 200, [], b"a"))
    assert int(Path(stored.key).name.split(".")[0]) == int(temp.name.split(".")[1]) + 1
    assert remove_temporaries(tmp_path) == [temp] and temporaries(tmp_path) == []


def test_a_full_disk_is_one_error_per_exchange_and_loses_nothing_already_written(tmp_path: Path) -> None:
    code, lines = child(tmp_path, "write", 10**6, fsize=100_000)
    assert code == 0
    errors = [line["error"] for line in lines if "error" in line]
    stored = [line for line in lines if "n" in line]
    assert errors and stored
    assert all("\n" not in e and "File too large" in e and "not archived" in e for e in errors)
    closed = lines[-1]["closed"]
    assert all(f["bytes"] <= 100_000 for f in closed)
    assert temporaries(tmp_path) == []
    archived = [(r.url, r.offset) for f in closed for r in iter_responses([f["path"]])]
    assert all(check(f["path"]) == [] for f in closed)
    assert archived == [(f"https://www.stdaily.com/web/English/page_{s['n']}.html", s["offset"]) for s in stored]


def test_a_folder_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "spool"
    blocker.write_text("a file where the folder should be")
    archive = RunArchive(blocker, dt=DT, run_id=RUN, roll_size=1000)
    with pytest.raises(ArchiveError) as exc:
        archive.write(Exchange(SITE + "/", 200, [], b"x"))
    assert "cannot create WARC file" in str(exc.value) and "\n" not in str(exc.value)
    assert archive.close() == []


def test_bad_input_is_refused_with_one_line(tmp_path: Path) -> None:
    bad_exchanges: list[dict[str, Any]] = [
        dict(url="/web/English/relative.html"),
        dict(status=42),
        dict(response_headers=[(b"X-Evil", b"a\r\nSet-Cookie: b")]),
        dict(response_headers=[(b"Bad Name", b"x")]),
        dict(date=dt.datetime(2026, 11, 27, 2, 0)),
        dict(ip_address="localhost"),
        dict(method="GET /"),
    ]
    for bad in bad_exchanges:
        fields: dict[str, Any] = {"url": SITE + "/", "status": 200, "response_headers": [], "body": b"", **bad}
        with pytest.raises(ValueError) as exc:
            Exchange(**fields)
        assert "\n" not in str(exc.value)
    for run_id in ("../x", "a/b", ""):
        with pytest.raises(ValueError, match="run id"):
            RunArchive(tmp_path, dt=DT, run_id=run_id, roll_size=1000)
    with pytest.raises(ValueError, match="roll size"):
        RunArchive(tmp_path, dt=DT, run_id=RUN, roll_size=0)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        RunArchive(tmp_path, dt="27.11.2026", run_id=RUN, roll_size=1000)
    good = Copy(SITE + "/", sha1_b32(b"x"), f"stdaily/warc/dt={DT}/run={RUN}/00000.warc.gz", 12,
                "<urn:uuid:0b5a7f1e-0000-4000-8000-000000000001>", WHEN_WARC)
    assert Copy.from_dict(json.loads(json.dumps(good.to_dict()))) == good
    for broken in ({"offset": -1}, {"key": "elsewhere/0.warc.gz"}, {"payload_digest": "md5:x"}, {"record_id": "42"}):
        with pytest.raises(ValueError):
            Copy.from_dict({**good.to_dict(), **broken})
    with pytest.raises(ValueError, match="lacks"):
        Copy.from_dict({"url": SITE})


def test_a_closed_archive_refuses_writes_and_a_resumed_run_numbers_on(tmp_path: Path) -> None:
    exchange = Exchange(SITE + "/a.html", 200, [], b"a")
    with RunArchive(tmp_path, dt=DT, run_id=RUN, roll_size=1000) as archive:
        archive.write(exchange)
    with pytest.raises(ArchiveError, match="closed"):
        archive.write(exchange)
    assert archive.close() == archive.files  # idempotent
    with RunArchive(tmp_path, dt=DT, run_id=RUN, roll_size=1000) as resumed:
        resumed.write(exchange)
    assert [f.key.rsplit("/", 1)[1] for f in archive.files + resumed.files] == ["00000.warc.gz", "00001.warc.gz"]
    assert io.BytesIO(Path(archive.files[0].path).read_bytes()).read(2) == b"\x1f\x8b"


def test_an_exchange_keeps_every_header_value_as_sent_and_no_credential() -> None:
    from scrapy.http import HtmlResponse, Request

    from stdcrawl.downloadermiddlewares.archive import exchange_of

    request = Request("https://www.stdaily.com/web/English/node_433.html", headers=[
        ("Accept", "text/html"), ("Authorization", "Basic c2VjcmV0"), ("Proxy-Authorization", "Basic cHJveHk="),
        ("Cookie", "session=1"), ("Accept-Language", "en"),
    ])
    response = HtmlResponse(request.url, status=200, body=b"<html></html>", request=request, headers=[
        ("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-Count", 3),
    ])
    when = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    exchange = exchange_of(request, response, when)
    assert list(exchange.request_headers) == [(b"Accept", b"text/html"), (b"Accept-Language", b"en")]
    assert list(exchange.response_headers) == [
        (b"Content-Type", b"text/html; charset=utf-8"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2"), (b"X-Count", b"3"),
    ]
    assert exchange.body == b"<html></html>" and exchange.date == when and exchange.method == "GET"
