"""Downloads that stay polite, bounded and honest: Retry-After, damaged pages, header and robots.txt caps.

Unit tests build the middlewares from a real Crawler; the crawls are real
`stdcrawl crawl` subprocesses with the shipped politeness scaled down (not off),
against the replica or against small servers of our own on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import signal
import socketserver
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from backports import zstd
from conftest import FAST, ROOT, exported
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import StopDownload
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.utils.test import get_crawler

from stdcrawl import settings as project
from stdcrawl.config import validate
from stdcrawl.downloadermiddlewares.damaged import DamagedPageMiddleware
from stdcrawl.downloadermiddlewares.retryafter import RetryAfterInterrupted, RetryAfterMiddleware, retry_after
from stdcrawl.downloadermiddlewares.robotstxtcap import RobotsTxtCapMiddleware, read_prefix, whole_lines
from stdcrawl.project import project_settings
from stdcrawl.replica import faults, render
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import Reply, ReplicaServer, Router
from stdcrawl.replica.truth import compare, expected_records
from stdcrawl.state import StateStore
from stdcrawl.urls import CANONICAL_BASE

# The shipped politeness, its delays scaled down but on (the replica is our own server).
POLITE = {
    "CONCURRENT_REQUESTS": str(project.CONCURRENT_REQUESTS),
    "CONCURRENT_REQUESTS_PER_DOMAIN": str(project.CONCURRENT_REQUESTS_PER_DOMAIN),
    "DOWNLOAD_DELAY": "0.1",
    "AUTOTHROTTLE_ENABLED": "True",
    "AUTOTHROTTLE_START_DELAY": "0.1",
}
SETTINGS = ("RETRY_ENABLED", "RETRY_TIMES", "ROBOTSTXT_OBEY", "STDCRAWL_MAX_RETRY_AFTER", "STDCRAWL_MAX_ROBOTSTXT_BYTES")
ROBOTS_CAP = project.STDCRAWL_MAX_ROBOTSTXT_BYTES


# -- helpers --------------------------------------------------------------------------------


@dataclass
class Finished:
    returncode: int
    stats: dict[str, Any]
    output: str
    seconds: float
    peak_rss_mb: float  # the crawl's own peak (VmHWM), sampled while it runs


def start(data: Path, site_url: str, **settings: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `stdcrawl crawl` (the scheduled entry point) against site_url; its output goes to a file."""
    merged = {**FAST, **POLITE, "STDCRAWL_SITE_URL": site_url, "STDCRAWL_DATA_DIR": str(data),
              "STDCRAWL_STATS_FILE": str(data.parent / "stats.json"), **settings}
    cmd = [sys.executable, "-m", "stdcrawl", "crawl"] + [a for k, v in merged.items() for a in ("-s", f"{k}={v}")]
    log = data.parent / "crawl.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def peak_rss_kib(pid: int) -> int | None:
    """A process's peak resident set so far (VmHWM: since its exec; wait4's ru_maxrss counts the parent's too)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None)


def finish(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> Finished:
    """Wait for the crawl, killing it after ``timeout`` seconds (a test failure)."""
    started = time.monotonic()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, peak_rss_kib(proc.pid) or 0)
        if time.monotonic() - started > timeout:
            proc.kill()
            proc.wait()
            pytest.fail(f"the crawl was still running after {timeout} s:\n" + log.read_text("utf-8", "replace")[-3000:])
        time.sleep(0.02)
    stats_file = log.parent / "stats.json"
    stats = json.loads(stats_file.read_text("utf-8")) if stats_file.exists() else {}
    return Finished(proc.returncode, stats, log.read_text("utf-8", "replace"), time.monotonic() - started, peak / 1024)


def crawl(tmp_path: Path, site_url: str, timeout: float = 60, **settings: str) -> Finished:
    proc, log = start(tmp_path / "data", site_url, **settings)
    return finish(proc, log, timeout)


def unit_crawler(**settings: Any) -> Crawler:
    """A real Crawler with the project's values of the settings under test, as if crawling."""
    crawler = get_crawler(Spider, {**{name: getattr(project, name) for name in SETTINGS}, **settings})
    crawler.spider = Spider.from_crawler(crawler, name="unit")
    crawler.crawling = True
    return crawler


def answer(status: int, url: str = "https://www.stdaily.com/web/English/2024-05/08/content_1.html", **headers: str) -> tuple[Request, Response]:
    request = Request(url)
    return request, HtmlResponse(url, status=status, headers=headers, body=b"<html><body>Busy</body></html>")


def stat(crawler: Crawler, name: str) -> Any:
    assert crawler.stats is not None
    return crawler.stats.get_value(name)


# -- settings -------------------------------------------------------------------------------


def test_a_bad_download_setting_is_one_line_naming_it() -> None:
    assert validate(project_settings()) == []
    bad = project_settings({"STDCRAWL_MAX_HEADER_BYTES": "256k", "STDCRAWL_MAX_ROBOTSTXT_BYTES": "0",
                            "STDCRAWL_MAX_RETRY_AFTER": "nan"})
    errors = [str(p) for p in validate(bad)]
    assert sorted(e.split(":", 1)[0] for e in errors) == ["STDCRAWL_MAX_HEADER_BYTES", "STDCRAWL_MAX_RETRY_AFTER",
                                                           "STDCRAWL_MAX_ROBOTSTXT_BYTES"]
    assert all("\n" not in e for e in errors)


# -- 1. Retry-After: unit -------------------------------------------------------------------


def test_retry_after_is_read_in_seconds_or_as_an_http_date() -> None:
    assert retry_after(answer(503, **{"Retry-After": "120"})[1]) == 120
    in_30 = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after(answer(503, **{"Retry-After": in_30})[1]) or 0) <= 30
    a_minute_ago = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after(answer(503, **{"Retry-After": a_minute_ago})[1]) == 0
    assert retry_after(answer(503, **{"Retry-After": "soon"})[1]) is None
    assert retry_after(answer(503)[1]) is None


def test_a_retry_after_pauses_the_site_then_the_page_is_retried() -> None:
    crawler = unit_crawler()
    mw = RetryAfterMiddleware.from_crawler(crawler)
    request, busy = answer(503, **{"Retry-After": "1"})

    async def scenario() -> tuple[Any, float, float, float]:
        began = time.monotonic()

        async def timed(coro: Any) -> float:
            await coro
            return time.monotonic() - began

        retried = asyncio.ensure_future(mw.process_response(request, busy))
        await asyncio.sleep(0)  # the 503 is read and the pause starts
        same_site, other_site = await asyncio.gather(
            timed(mw.process_request(Request("https://www.stdaily.com/English/index.shtml"))),
            timed(mw.process_request(Request("https://example.org/"))),
        )
        return await retried, time.monotonic() - began, same_site, other_site

    retry, waited, same_site, other_site = asyncio.run(scenario())
    assert isinstance(retry, Request) and retry.url == request.url and retry.meta["retry_times"] == 1
    assert waited >= 0.99 and same_site >= 0.99 and other_site < 0.2
    assert stat(crawler, "stdcrawl/retry_after/waits") == 1 and stat(crawler, "stdcrawl/retry_after/held") == 1
    assert stat(crawler, "retry/reason_count/retry_after_503") == 1


def test_a_wait_over_the_cap_is_not_retried_and_a_503_without_retry_after_is_left_to_scrapy() -> None:
    crawler = unit_crawler()
    mw = RetryAfterMiddleware.from_crawler(crawler)
    request, busy = answer(429, **{"Retry-After": str(project.STDCRAWL_MAX_RETRY_AFTER + 1)})
    plain_request, plain = answer(503)

    async def scenario() -> tuple[Any, Any, float]:
        first = await mw.process_response(request, busy)
        second = await mw.process_response(plain_request, plain)
        began = time.monotonic()
        await mw.process_request(Request(request.url))
        return first, second, time.monotonic() - began

    first, second, held = asyncio.run(scenario())
    assert first is busy and request.meta["dont_retry"] is True  # Scrapy's RetryMiddleware must not retry it at once
    assert second is plain and "dont_retry" not in plain_request.meta
    assert held < 0.1 and stat(crawler, "stdcrawl/retry_after/too_long") == 1
    assert stat(crawler, "stdcrawl/retry_after/waits") is None


def test_with_the_retries_spent_the_page_fails_but_the_site_still_pauses() -> None:
    crawler = unit_crawler()
    mw = RetryAfterMiddleware.from_crawler(crawler)
    request, busy = answer(503, **{"Retry-After": "1"})
    request.meta["retry_times"] = project.RETRY_TIMES

    async def scenario() -> tuple[Any, float]:
        result = await mw.process_response(request, busy)
        began = time.monotonic()
        await mw.process_request(Request(request.url.replace("content_1", "content_2")))
        return result, time.monotonic() - began

    result, held = asyncio.run(scenario())
    assert result is busy and held >= 0.9
    assert stat(crawler, "retry/max_reached") == 1


def test_a_shutdown_ends_the_waits_at_once() -> None:
    crawler = unit_crawler()
    mw = RetryAfterMiddleware.from_crawler(crawler)
    request, busy = answer(503, **{"Retry-After": "120"})

    async def scenario() -> tuple[list[Any], float]:
        waiting: list[asyncio.Future[Any]] = [asyncio.ensure_future(mw.process_response(request, busy))]
        await asyncio.sleep(0)
        waiting.append(asyncio.ensure_future(mw.process_request(Request(request.url + "?other"))))
        await asyncio.sleep(0.3)
        crawler.crawling = False  # what Crawler.stop() does on SIGTERM
        stopped = time.monotonic()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        return results, time.monotonic() - stopped

    results, after = asyncio.run(scenario())
    assert all(isinstance(r, RetryAfterInterrupted) for r in results), results
    assert after < 0.6 and stat(crawler, "stdcrawl/retry_after/interrupted") == 2


# -- 1. Retry-After: real crawls ------------------------------------------------------------


def test_a_retry_after_with_the_delays_on_does_not_stop_the_crawl(tmp_path: Path) -> None:
    # The hang: with a download delay on, one 503 + Retry-After stopped every request for good.
    with ReplicaServer(ReplicaConfig(articles=40, retry_after=1)) as replica:
        run = crawl(tmp_path, replica.url, timeout=60)
        flaky = next(s for s in replica.model.stories if s.flaky)
        hits = [r.at for r in replica.requests if r.target == flaky.paths[flaky.primary]]
        truth = expected_records(replica.model)
    assert run.returncode == 0, run.output[-3000:]
    assert run.stats["stdcrawl/retry_after/waits"] == 2
    assert len(hits) == 3 and hits[1] - hits[0] >= 0.95 and hits[2] - hits[1] >= 0.95
    comparison = compare(exported(tmp_path / "data", "articles"), truth)
    assert comparison.ok, comparison.summary()


def test_429_and_503_with_crawl_delay_and_damaged_pages_every_article_exported(tmp_path: Path) -> None:
    config = ReplicaConfig(articles=20, others=3, crawl_delay=0.2, retry_after=1, faults=("429", "empty", "truncated"),
                           fault_pages=1)
    with ReplicaServer(config) as replica:
        run = crawl(tmp_path, replica.url, timeout=60)
        log = replica.requests
        truth = expected_records(replica.model)
    assert run.returncode == 0, run.output[-3000:]
    comparison = compare(exported(tmp_path / "data", "articles"), truth)
    assert comparison.ok, comparison.summary()
    # Crawl-delay stays a floor between any two requests, pauses or not.
    assert run.stats["stdcrawl/politeness/crawl_delay"] == 0.2
    times = [r.at for r in log[1:]]  # after robots.txt itself
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.2 * 0.9
    # Each 429/503 pauses the whole site: once the request that was already in the download
    # slot (one download delay) is out, nothing is sent until the wait is over.
    busy = [r for r in log if r.status in (429, 503)]
    assert sorted(r.status for r in busy) == [429, 503, 503]
    for r in busy:
        during = [o.target for o in log if r.at + 0.35 < o.at < r.at + 0.95]
        assert during == [], (r.target, during)
        again = [o.at for o in log if o.target == r.target and o.at > r.at]
        assert again and again[0] - r.at >= 0.95
    assert run.stats["stdcrawl/retry_after/waits"] == 3
    # Damaged pages were retried by the downloader middleware: the spider never saw them.
    assert run.stats["stdcrawl/download/damaged/empty"] == 2 and run.stats["stdcrawl/download/damaged/truncated"] == 2
    assert not [k for k in run.stats if k.startswith("stdcrawl/spider/articles/damaged/")]


def test_sigterm_during_a_long_retry_after_wait_stops_the_run_within_seconds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ReplicaServer(ReplicaConfig(articles=40, retry_after=120)) as replica:
        flaky = next(s for s in replica.model.stories if s.flaky)
        proc, log = start(data, replica.url)
        deadline = time.monotonic() + 40
        while not [r for r in replica.requests if r.target == flaky.paths[flaky.primary]]:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        time.sleep(0.5)  # well inside the 120 s wait
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        run = finish(proc, log, timeout=30)
        stopped = time.monotonic() - sent
        hits = [r for r in replica.requests if r.target == flaky.paths[flaky.primary]]
    assert run.returncode == 1, run.output[-3000:]
    assert stopped < 8, stopped
    assert "the spider closed with reason 'shutdown'" in run.output
    assert len(hits) == 1 and run.stats["stdcrawl/retry_after/interrupted"] >= 1
    store = StateStore(data / "state.sqlite")
    pending = {url for url, _ in store.pending("Cooperation")}
    store.close()
    assert CANONICAL_BASE + flaky.paths[flaky.primary] in pending


# -- 2. Damaged pages -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def article() -> tuple[str, Callable[[], str], ReplicaConfig]:
    """One plain article of the replica: its path, its page, the config."""
    config = ReplicaConfig(articles=10, others=1)
    model = SiteModel(config)
    story = next(s for s in model.live_stories("Cooperation") if "G3" in s.paths and not s.flaky)
    return story.paths["G3"], lambda: render.article_page(model, story, "G3", 1), config


def _response(reply: Reply, url: str) -> HtmlResponse:
    return HtmlResponse(url, status=reply.status, body=reply.body,
                        headers={"Content-Type": reply.content_type, "Content-Length": str(len(reply.body))})


@pytest.mark.parametrize(("fault", "kind"), [("empty", "empty"), ("truncated", "truncated"), (None, None)])
def test_an_empty_or_cut_off_page_is_retried_then_passed_on_marked(
    article: tuple[str, Callable[[], str], ReplicaConfig], fault: str | None, kind: str | None,
) -> None:
    path, page, config = article
    reply = faults.article_reply(fault, 1, path, page, target=None, stall_seconds=config.stall_seconds, header_mb=1) if fault else Reply(200, page().encode())
    assert reply is not None
    crawler = unit_crawler()
    mw = DamagedPageMiddleware.from_crawler(crawler)
    request = Request(CANONICAL_BASE + path)
    response = _response(reply, request.url)
    first = mw.process_response(request, response)
    if kind is None:
        assert first is response and stat(crawler, "retry/count") is None
        return
    assert isinstance(first, Request) and first.meta["retry_times"] == 1
    assert stat(crawler, f"retry/reason_count/damaged_{kind}") == 1
    attempt = first
    for _ in range(project.RETRY_TIMES - 1):
        again = mw.process_response(attempt, _response(reply, request.url))
        assert isinstance(again, Request)
        attempt = again
    last = mw.process_response(attempt, _response(reply, request.url))
    assert isinstance(last, Response) and "damaged" in last.flags
    assert attempt.meta["damaged"] == kind  # the response's meta, once the engine ties it to its request
    assert stat(crawler, f"stdcrawl/download/damaged/{kind}") == project.RETRY_TIMES + 1
    assert stat(crawler, f"stdcrawl/download/damaged_passed_on/{kind}") == 1


def test_a_206_or_a_body_shorter_than_its_content_length_is_damaged(article: tuple[str, Callable[[], str], ReplicaConfig]) -> None:
    path, page, config = article
    whole = page().encode()
    short = faults.article_reply("short", 1, path, page, target=None, stall_seconds=config.stall_seconds, header_mb=1)
    assert short is not None and short.transport == "short"  # the replica sends half the body, the whole length
    crawler = unit_crawler(RETRY_TIMES=0)
    mw = DamagedPageMiddleware.from_crawler(crawler)
    url = CANONICAL_BASE + path
    partial_request = Request(url)
    partial = mw.process_response(partial_request, HtmlResponse(url, status=206, body=whole))
    assert isinstance(partial, Response) and partial_request.meta["damaged"] == "partial"
    # Short on the wire: the handler's response is seen by the response_downloaded signal first.
    short_request = Request(url)
    mw.process_request(short_request)
    wire = HtmlResponse(url, body=short.body[: len(short.body) // 2], headers={"Content-Length": str(len(short.body))})
    mw.response_downloaded(wire, short_request)
    assert isinstance(mw.process_response(short_request, wire), Response) and short_request.meta["damaged"] == "short"
    dataloss_request = Request(url)
    mw.process_response(dataloss_request, HtmlResponse(url, body=whole, flags=["dataloss"]))
    assert dataloss_request.meta["damaged"] == "short"
    assert stat(crawler, "stdcrawl/download/damaged/short") == 2 and stat(crawler, "stdcrawl/download/damaged/partial") == 1


def test_an_inflated_body_is_not_compared_with_its_compressed_length() -> None:
    crawler = unit_crawler()
    mw = DamagedPageMiddleware.from_crawler(crawler)
    page = b"<html><body><p>x</p></body></html>"
    packed = gzip.compress(page)
    assert len(packed) > len(page)  # so a naive length check would call the inflated page short
    url = "https://www.stdaily.com/web/English/node_426.html"
    request = Request(url)
    mw.process_request(request)
    mw.response_downloaded(HtmlResponse(url, body=packed, headers={"Content-Length": str(len(packed)), "Content-Encoding": "gzip"}), request)
    inflated = HtmlResponse(url, body=page, headers={"Content-Length": str(len(packed))})
    assert mw.process_response(request, inflated) is inflated


@pytest.mark.parametrize(
    ("url", "content_type"),
    [("https://www.stdaily.com/robots.txt", "text/plain"), ("https://www.stdaily.com/web/English/pic/x.jpg", "image/jpeg")],
)
def test_robots_txt_and_images_are_not_pages(url: str, content_type: str) -> None:
    crawler = unit_crawler()
    mw = DamagedPageMiddleware.from_crawler(crawler)
    response = Response(url, body=b"", headers={"Content-Type": content_type})
    assert mw.process_response(Request(url), response) is response
    assert stat(crawler, "stdcrawl/download/damaged/empty") is None


# -- 3. Response headers capped -------------------------------------------------------------


class _HeaderFlood(socketserver.BaseRequestHandler):
    """Answers any request with a status line, then header lines without end (up to 1 GB)."""

    server: _FloodServer
    limit = 1 << 30

    def handle(self) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            received += chunk
        block = b"X-Filler: " + b"f" * 90 + b"\r\n"
        block *= 10_000  # 1 MB of headers per write
        sent = 0
        try:
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
            while sent < self.limit:
                self.request.sendall(block)
                sent += len(block)
        except OSError:
            pass  # the crawler hung up: what we want
        finally:
            self.server.sent.append(sent)


class _FloodServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HeaderFlood)
        self.sent: list[int] = []


@pytest.fixture
def header_flood() -> Iterator[_FloodServer]:
    server = _FloodServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_response_headers_without_end_fail_the_request_and_memory_stays_small(tmp_path: Path, header_flood: _FloodServer) -> None:
    port = header_flood.server_address[1]
    run = crawl(tmp_path, f"http://127.0.0.1:{port}", timeout=60)
    assert run.returncode == 1, run.output[-3000:]  # no homepage: the run failed, and says so
    # One clear line per page, no traceback of the download (the run's monitors print their own failures).
    assert "Error downloading" not in run.output and "_HeaderLimit" not in run.output
    assert run.stats["stdcrawl/download/headers_too_large"] >= 3  # robots.txt and both homepages
    assert "headers went past STDCRAWL_MAX_HEADER_BYTES=262144" in run.output
    assert run.stats.get("retry/count") is None  # the next answer would be the same
    assert run.peak_rss_mb < 300, run.peak_rss_mb
    # The crawler hung up soon after the cap; what else was sent sat in the sockets' buffers.
    assert header_flood.sent and max(header_flood.sent) < 64 << 20, header_flood.sent


# -- 3. robots.txt read up to a cap ---------------------------------------------------------


def _encoders() -> dict[str, Callable[[bytes], bytes]]:
    def raw_deflate(data: bytes) -> bytes:
        packer = zlib.compressobj(wbits=-15)
        return packer.compress(data) + packer.flush()

    return {"gzip": gzip.compress, "deflate": zlib.compress, "raw-deflate": raw_deflate, "br": lambda data: brotli.compress(data, quality=5),
            "zstd": zstd.compress, "identity": lambda data: data}


ROBOTS_LINES = b"".join(b"Disallow: /web/English/2024-05/%02d/content_%06d.html\n" % (i % 28 + 1, i) for i in range(20_000))


@pytest.mark.parametrize("encoding", list(_encoders()))
def test_a_compressed_robots_txt_is_read_up_to_the_cap(encoding: str) -> None:
    packed = _encoders()[encoding](ROBOTS_LINES)
    header = [b"deflate" if encoding == "raw-deflate" else encoding.encode()]
    assert len(ROBOTS_LINES) > ROBOTS_CAP
    assert read_prefix(packed, header, ROBOTS_CAP) == (ROBOTS_LINES[:ROBOTS_CAP], True)
    small = ROBOTS_LINES[:1000]
    assert read_prefix(_encoders()[encoding](small), header, ROBOTS_CAP) == (small, False)


def test_a_gzip_bomb_is_inflated_only_up_to_the_cap_and_a_broken_stream_keeps_its_start() -> None:
    tracemalloc.start()
    body, cut = read_prefix(faults.gzip_bomb(b"", b"\0"), [b"gzip"], ROBOTS_CAP)  # the replica's: 256 MB inflated
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert cut and body == b"\0" * ROBOTS_CAP and peak < 8 * ROBOTS_CAP
    broken = gzip.compress(ROBOTS_LINES)[:20_000]
    start_, cut = read_prefix(broken, [b"gzip"], ROBOTS_CAP)
    assert len(start_) > 20_000 and ROBOTS_LINES.startswith(start_) and not cut
    assert read_prefix(b"not gzip at all", [b"gzip"], ROBOTS_CAP) == (b"", False)
    assert whole_lines(b"Disallow: /a\nDisallow: /b") == b"Disallow: /a\n"


def test_the_robots_request_is_read_to_the_cap_and_no_further() -> None:
    crawler = unit_crawler()
    mw = RobotsTxtCapMiddleware.from_crawler(crawler)
    robots = Request("https://www.stdaily.com/robots.txt", meta={"dont_obey_robotstxt": True})
    page = Request("https://www.stdaily.com/English/index.shtml")
    mw.process_request(robots)
    mw.process_request(page)
    assert robots.meta["download_maxsize"] == 0 and "download_maxsize" not in page.meta
    mw.bytes_received(b"x" * 10 * ROBOTS_CAP, page)  # other downloads are not watched
    mw.bytes_received(b"x" * ROBOTS_CAP, robots)
    with pytest.raises(StopDownload):
        mw.bytes_received(b"x", robots)
    bomb = gzip.compress(b"User-agent: *\nDisallow: /web/English/2024-05/\n" + b"\0" * (64 << 20))
    response = TextResponse(robots.url, body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})
    read = mw.process_response(robots, response)
    assert read.body == b"User-agent: *\nDisallow: /web/English/2024-05/\n"
    assert b"Content-Encoding" not in read.headers and stat(crawler, "stdcrawl/robotstxt/cut") == 1


class _RobotsRouter(Router):
    """The replica, with a robots.txt of our own."""

    def __init__(self, model: SiteModel, robots: Reply) -> None:
        super().__init__(model)
        self.robots = robots

    def route(self, path: str) -> Reply:
        return self.robots if path == "/robots.txt" else super().route(path)


@pytest.mark.parametrize("kind", ["600-KiB", "gzip-bomb"])
def test_a_huge_robots_txt_is_obeyed_up_to_the_cap(tmp_path: Path, kind: str) -> None:
    config = ReplicaConfig(articles=15, others=2)
    model = SiteModel(config)
    forbidden = model.robots_paths()
    rules = render.robots_txt(model).encode()  # its first lines disallow the robots stories
    assert forbidden and all(p.encode() in rules for p in forbidden)
    if kind == "600-KiB":
        late = next(s for s in model.live_stories("Cooperation") if not s.robots and not s.flaky).paths
        filler = b"".join(b"# %06d %s\n" % (i, b"-" * 60) for i in range(9_000))
        # A rule past the cap is ignored, as the major search engines ignore it: its story is crawled.
        body = rules + filler + b"".join(b"Disallow: %s\n" % p.encode() for p in late.values())
        assert len(body) > 600 * 1024 and len(rules + filler) > ROBOTS_CAP
        reply, settings = Reply(200, body, "text/plain"), {"DOWNLOAD_MAXSIZE": str(400 * 1024)}  # Scrapy would drop it
    else:
        bomb = gzip.compress(rules + b"\0" * (64 << 20), compresslevel=9)  # inflates past DOWNLOAD_MAXSIZE
        reply, settings = Reply(200, bomb, "text/plain", (("Content-Encoding", "gzip"),)), {}
    with ReplicaServer(config) as replica:
        replica.router = _RobotsRouter(model, reply)
        run = crawl(tmp_path, replica.url, timeout=60, **settings)
        requested = {r.target for r in replica.requests}
    assert run.returncode == 0, run.output[-3000:]
    assert not requested & set(forbidden)
    assert run.stats["stdcrawl/robotstxt/cut"] == 1 and "the rest is ignored" in run.output
    comparison = compare(exported(tmp_path / "data", "articles"), expected_records(model))
    assert comparison.ok, comparison.summary()
