"""Archive cost: what keeping every response as WARC costs in bytes and time, warcio against fastwarc.

Every page of a replica of N Cooperation articles (default 1000: the article
pages of every channel, the list pages, the homepages, as the replica serves
them) is rendered once, outside the timings. Then, in this process:

- baseline: gzip (level 6) of the same bytes (request head, response head,
  body) per page, and gunzip back: the least any compressed archive can cost;
- warcio and fastwarc on their own: a request and a response record per page,
  one gzip member each, into memory; read back with each library's iterator;
- stdcrawl's RunArchive (fastwarc) as a run uses it: an Exchange built per
  page, written to files on disk, rolled, closed (synced, renamed, SHA-256);
  the same with each page's records built beforehand, outside the timing, as
  a crawl's worker process builds them (what is left in the crawler's process);
  a run of the same pages again, all revisits; iter_responses (digests
  checked, Content-Encoding undone: the re-extraction feed) on both, the
  revisits resolved; read_provenance per page in random order; check() per MB.

Figures: archive bytes per 1,000 articles, write cost per page (us), read
throughput (pages/s), each with its ratio to the baseline, plus the write cost
at several roll sizes, and the share of a crawled page's time the writer's CPU
time adds (against the last bench/results/throughput.jsonl). Times: ROUNDS rounds with
every contender once per round, in turn (the machine is shared), best of each.

    python bench/archive_cost.py [--articles N] [--rounds R] [--roll-sizes 1,16,64]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, report

from stdcrawl.archive import ArchivedFile, Copy, Exchange, RunArchive, check, iter_responses, read_provenance
from stdcrawl.archive.encoding import Encoded, encode
from stdcrawl.replica.model import CHANNEL_SPECS, ReplicaConfig, SiteModel
from stdcrawl.replica.server import Router

SITE = "https://www.stdaily.com"
REQUEST_HEADERS = ((b"User-Agent", b"stdcrawl/0.1.0 (+https://example.org/crawler)"),
                   (b"Accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                   (b"Accept-Language", b"en"), (b"Accept-Encoding", b"gzip, deflate, br"))
MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Page:
    """What a downloader middleware holds for one response: URL, status, headers, body."""

    url: str
    status: int
    response_headers: list[tuple[bytes, bytes]]
    body: bytes
    request_headers: tuple[tuple[bytes, bytes], ...] = REQUEST_HEADERS

    def exchange(self) -> Exchange:
        return Exchange(self.url, self.status, self.response_headers, self.body, request_headers=self.request_headers,
                        ip_address="127.0.0.1", date=dt.datetime.now(dt.UTC))


def pages(model: SiteModel) -> list[Page]:
    """Every page a full crawl of the replica fetches."""
    router = Router(model, cache=True)
    paths = ["/English/index.shtml", "/web/English/index.html"]
    for spec in CHANNEL_SPECS:
        if spec.folder:
            paths += [f"/English/{spec.folder}/common_list{'' if n == 1 else f'_{n}'}.shtml"
                      for n in range(1, len(model.pages(spec.name, "legacy")) + 1)]
        paths += [f"/web/English/node_{model.nodes[spec.name]}{'' if n == 1 else f'_{n}'}.html"
                  for n in range(1, len(model.pages(spec.name, "web")) + 1)]
    paths += list(model.by_path)
    out = []
    for path in paths:
        reply = router.route(path)
        headers = [(b"Content-Type", reply.content_type.encode()), (b"Content-Length", str(len(reply.body)).encode()),
                   (b"Server", b"replica")]
        out.append(Page(SITE + path, reply.status, headers, reply.body))
    return out


def interleaved(rounds: int, tasks: dict[str, Callable[[int], Any]]) -> dict[str, tuple[float, Any, float]]:
    """Each task once per round, in turn, so that a busy spell of the shared machine hits them alike.

    Returns for each its shortest wall time, its last result and its shortest
    CPU time (this process's); a task gets the round number.
    """
    times: dict[str, list[float]] = {name: [] for name in tasks}
    cpu: dict[str, list[float]] = {name: [] for name in tasks}
    results: dict[str, Any] = {}
    for n in range(rounds):
        for name, task in tasks.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            results[name] = task(n)
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return {name: (min(times[name]), results[name], min(cpu[name])) for name in tasks}


def heads(ex: Page) -> tuple[bytes, bytes]:
    request = b"GET " + ex.url[len(SITE):].encode() + b" HTTP/1.1\r\n" + b"".join(
        k + b": " + v + b"\r\n" for k, v in ex.request_headers) + b"\r\n"
    response = f"HTTP/1.1 {ex.status} OK\r\n".encode() + b"".join(
        k + b": " + v + b"\r\n" for k, v in ex.response_headers) + b"\r\n"
    return request, response


# -- the libraries on their own ------------------------------------------------------------


def baseline_write(exchanges: list[Page]) -> list[bytes]:
    out = []
    for ex in exchanges:
        request, response = heads(ex)
        out.append(gzip.compress(request + response + ex.body, 6))
    return out


def warcio_write(exchanges: list[Page]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
    from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    for ex in exchanges:
        request_head = StatusAndHeaders(f"GET {ex.url[len(SITE):]} HTTP/1.1",
                                        [(k.decode(), v.decode()) for k, v in ex.request_headers],
                                        protocol="HTTP/1.1", is_http_request=True)
        request = writer.create_warc_record(ex.url, "request", http_headers=request_head)
        response_head = StatusAndHeaders(f"{ex.status} OK", [(k.decode(), v.decode()) for k, v in ex.response_headers],
                                         protocol="HTTP/1.1")
        response = writer.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
                                             http_headers=response_head)
        writer.write_request_response_pair(request, response)
    return out.getvalue()


def fastwarc_write(exchanges: list[Page]) -> bytes:
    import hashlib

    from fastwarc import GzipWriter
    from fastwarc.warc import WarcRecord, WarcRecordType

    out = io.BytesIO()
    stream = GzipWriter(out, compression_level=6)
    for ex in exchanges:
        request_head, response_head = heads(ex)
        request = WarcRecord()
        request.init_headers(WarcRecordType.request)
        request.headers.append("WARC-Target-URI", ex.url)
        request.headers.append("Content-Type", "application/http; msgtype=request")
        request.set_bytes_content(request_head)
        request.write(stream, checksum_data=True)
        stream.finish()
        response = WarcRecord()
        response.init_headers(WarcRecordType.response)
        response.headers.append("WARC-Target-URI", ex.url)
        response.headers.append("Content-Type", "application/http; msgtype=response")
        response.headers.append("WARC-Concurrent-To", request.record_id or "")
        response.set_bytes_content(response_head + ex.body)
        response.write(stream, checksum_data=True, payload_digest=hashlib.sha1(ex.body).digest())
        stream.finish()
    return out.getvalue()


def baseline_read(blobs: list[bytes]) -> int:
    return sum(1 for blob in blobs if gzip.decompress(blob))


def warcio_read(paths: list[str]) -> int:
    from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

    n = 0
    for path in paths:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    record.content_stream().read()
                    n += 1
    return n


def fastwarc_read(paths: list[str]) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    n = 0
    for path in paths:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response):
                record.reader.read()
                n += 1
    return n


# -- stdcrawl's archive ---------------------------------------------------------------------


def archive_run(root: Path, run_id: str, exchanges: list[Page], roll_size: int,
                last: dict[str, Copy] | None = None) -> tuple[list[ArchivedFile], list[Any]]:
    with RunArchive(root, dt="2026-11-27", run_id=run_id, roll_size=roll_size) as archive:
        # The Exchange is built here, as the middleware will build it for each response: its cost counts.
        stored = [archive.write(page.exchange(), (last or {}).get(page.url)) for page in exchanges]
    return archive.files, stored


def prebuilt(root: Path, run_id: str, exchanges: list[Page], roll_size: int) -> tuple[RunArchive, list[Encoded]]:
    """An archive not yet written to and every page's records built for it, as a worker process would."""
    archive = RunArchive(root, dt="2026-11-27", run_id=run_id, roll_size=roll_size)
    return archive, [encode(page.exchange(), archive.warcinfo_id, archive.compression_level) for page in exchanges]


def append_prebuilt(archive: RunArchive, exchanges: list[Page], built: list[Encoded]) -> tuple[list[ArchivedFile], list[Any]]:
    with archive:
        stored = [archive.write(page.exchange(), None, b) for page, b in zip(exchanges, built, strict=True)]
    return archive.files, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--roll-sizes", default="1,16,64", help="MiB, comma-separated; the last is the one read back")
    args = parser.parse_args()
    roll_sizes = [int(float(x) * MIB) for x in args.roll_sizes.split(",")]
    roll = roll_sizes[-1]
    model = SiteModel(ReplicaConfig(articles=args.articles))
    articles = sum(1 for s in model.stories if s.channel == "Cooperation")
    exchanges = pages(model)
    n = len(exchanges)
    per_k = 1000 / articles
    us = 1e6 / n
    figures: dict[str, Any] = {"articles": articles, "pages": n,
                               "page_bytes_mean": round(sum(len(e.body) for e in exchanges) / n)}

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        first = archive_run(tmp / "first", "run-0", exchanges, roll)  # the copies the unchanged runs refer to
        last = {s.url: s.copy for s in first[1]}
        # Within one file (the roll is 64 MiB), every page's records are appended as built.
        ready = [prebuilt(tmp / f"pre-{r}", "run-3", exchanges, roll) for r in range(args.rounds)]
        writes: dict[str, Callable[[int], Any]] = {
            "baseline": lambda r: baseline_write(exchanges),
            "warcio": lambda r: warcio_write(exchanges),
            "fastwarc": lambda r: fastwarc_write(exchanges),
            **{f"stdcrawl-{size}": (lambda r, size=size: archive_run(tmp / f"r{size}-{r}", "run-1", exchanges, size))  # type: ignore[misc]
               for size in roll_sizes},
            "unchanged": lambda r: archive_run(tmp / f"again-{r}", "run-2", exchanges, roll, last),
            "prebuilt": lambda r: append_prebuilt(ready[r][0], exchanges, ready[r][1]),
        }
        written = interleaved(args.rounds, writes)
        del ready
        blobs = written["baseline"][1]
        base_bytes, base_us = sum(map(len, blobs)), written["baseline"][0] * us
        for name in ("warcio", "fastwarc"):
            (tmp / f"{name}.warc.gz").write_bytes(written[name][1])
        files, stored = written[f"stdcrawl-{roll}"][1]
        files2, stored2 = written["unchanged"][1]
        assert sum(s.revisit for s in stored2) == sum(1 for ex in exchanges if ex.body)  # every non-empty page
        root1 = Path(files[0].path).parents[4]
        paths0, paths1, paths2 = [f.path for f in first[0]], [f.path for f in files], [f.path for f in files2]
        provenance = [s.provenance() for s in stored]
        random.Random(1).shuffle(provenance)
        reads: dict[str, Callable[[int], Any]] = {
            "baseline": lambda r: baseline_read(blobs),
            "warcio": lambda r: warcio_read([str(tmp / "warcio.warc.gz")]),
            "fastwarc": lambda r: fastwarc_read([str(tmp / "fastwarc.warc.gz")]),
            "stdcrawl": lambda r: sum(1 for x in iter_responses(paths1) if x.decoded_body() is not None),
            "unchanged": lambda r: sum(1 for x in iter_responses(paths2, originals=paths0) if x.decoded_body() is not None),
            "random": lambda r: len([read_provenance(p, lambda key: root1 / key) for p in provenance]),
        }
        read = interleaved(args.rounds, reads)
        assert all(count == n for _, count, _ in read.values())
        # Each library reads the other's files: the formats agree (counted, not timed).
        assert warcio_read([str(tmp / "fastwarc.warc.gz")]) == fastwarc_read([str(tmp / "warcio.warc.gz")]) == n
        assert warcio_read(paths1) == n
        started = time.perf_counter()
        assert [p for path in paths1 for p in check(path)] == []
        check_s = time.perf_counter() - started

    base_read = n / read["baseline"][0]
    figures["baseline_gzip"] = {"bytes_per_1000_articles": round(base_bytes * per_k),
                                "write_us_per_page": round(base_us, 1), "read_pages_per_s": round(base_read)}

    figures["baseline_gzip"]["write_cpu_us_per_page"] = round(written["baseline"][2] * us, 1)

    def row(size: int, write: str, read_s: float) -> dict[str, Any]:
        write_s = written[write][0]
        return {"bytes_per_1000_articles": round(size * per_k), "bytes_vs_baseline": round(size / base_bytes, 3),
                "write_us_per_page": round(write_s * us, 1), "write_vs_baseline": round(write_s * us / base_us, 2),
                "write_cpu_us_per_page": round(written[write][2] * us, 1),
                "read_pages_per_s": round(n / read_s), "read_vs_baseline": round(n / read_s / base_read, 2)}

    libraries = {name: row(len(written[name][1]), name, read[name][0]) for name in ("warcio", "fastwarc")}
    figures["libraries"] = libraries
    size1, size2 = sum(f.size for f in files), sum(f.size for f in files2)
    ours: dict[str, Any] = {"roll_size": roll, **row(size1, f"stdcrawl-{roll}", read["stdcrawl"][0])}
    ours["rolls"] = {f"{size / MIB:g}MiB": {"write_us_per_page": round(written[f"stdcrawl-{size}"][0] * us, 1),
                                            "files": len(written[f"stdcrawl-{size}"][1][0])} for size in roll_sizes}
    ours["unchanged_run"] = {"revisits": sum(s.revisit for s in stored2), "bytes_per_1000_articles": round(size2 * per_k),
                             "write_us_per_page": round(written["unchanged"][0] * us, 1),
                             "write_cpu_us_per_page": round(written["unchanged"][2] * us, 1),
                             "read_pages_per_s": round(n / read["unchanged"][0])}
    files3, stored3 = written["prebuilt"][1]
    assert [s.revisit for s in stored3] == [s.revisit for s in stored] and len(files3) == len(files)
    ours["records_built_by_a_worker"] = {"write_us_per_page": round(written["prebuilt"][0] * us, 1),
                                         "write_cpu_us_per_page": round(written["prebuilt"][2] * us, 1)}
    ours["random_read_us_per_page"] = round(read["random"][0] * us, 1)
    ours["check_mb_per_s"] = round(size1 / MIB / check_s, 1)
    figures["stdcrawl"] = ours

    crawl = RESULTS / "throughput.jsonl"
    if crawl.exists():
        pps = json.loads(crawl.read_text().splitlines()[-1])["stdcrawl_pages_per_s"]
        figures["crawl_pages_per_s"] = pps
        figures["write_share_of_crawl_page"] = round(ours["write_cpu_us_per_page"] / (1e6 / pps), 3)

    rows = [("baseline gzip", figures["baseline_gzip"]), *libraries.items(), (f"stdcrawl ({roll / MIB:g} MiB rolls)", ours),
            ("stdcrawl, unchanged run", ours["unchanged_run"])]
    built = ours["records_built_by_a_worker"]
    print(f"{'':26} {'bytes/1000 art.':>16} {'write us/page':>14} {'(CPU)':>7} {'read pages/s':>13}", file=sys.stderr)
    for name, line in rows:
        print(f"{name:26} {line['bytes_per_1000_articles']:>16,} {line['write_us_per_page']:>14} "
              f"{line.get('write_cpu_us_per_page', ''):>7} {line['read_pages_per_s']:>13,}", file=sys.stderr)
    print(f"{'stdcrawl, records built':26} {'':>16} {built['write_us_per_page']:>14} {built['write_cpu_us_per_page']:>7}"
          "  (by a worker: the crawler's part)", file=sys.stderr)
    report("archive_cost", figures)


if __name__ == "__main__":
    main()
