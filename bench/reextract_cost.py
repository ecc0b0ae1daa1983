"""The archive in a real crawl, and re-extraction from it: bytes, what archiving adds per page, pages/s of reextract.

A replica of N Cooperation articles (default 1000) serves cached pages (so that
it is never the bottleneck). In this one script run:

- crawls: ``stdcrawl crawl`` with the archive and with ``STDCRAWL_ARCHIVE=false``,
  interleaved, ROUNDS times each, every one into a fresh data dir: CPU seconds
  of the crawler process per page (``os.wait4``) and wall time; what the
  archive adds per page is the difference of the medians;
- the archive a crawl leaves: WARC bytes per 1,000 articles and per page;
- ``stdcrawl reextract --warc <that archive>`` into a fresh data dir, the
  replica stopped, ROUNDS times: pages/s (pages answered from the archive over
  the run's elapsed time, Scrapy's own clock: start to close), the whole
  process's wall time, CPU per page;
- what bounds it, measured in this process on one core over the same files:
  reading the archive (``iter_responses``, digests checked, bodies decoded)
  and extracting every page (``extract_article``, ``extract_listing``); the rest
  of reextract's CPU per page is Scrapy's engine, the pipelines, the export and
  the state, measured directly by the same reextract with every article
  page extracted before the run starts (``bench/_extracted_in_advance.py``).
  Goal: 1,000 pages/s on 2 cores.

    python bench/reextract_cost.py [--articles N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CRAWL_SETTINGS, report, run, stdcrawl_command

from stdcrawl.archive import iter_responses
from stdcrawl.archive.index import page_key
from stdcrawl.extract import NotAnArticle, extract_article, extract_listing
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import expected_records
from stdcrawl.urls import canonicalize, parse_article_url, parse_list_url

GOAL_PAGES_PER_S = 1000
HERE = Path(__file__).resolve().parent


def warc_files(data: Path) -> list[Path]:
    return sorted((data / "lake" / "stdaily" / "warc").rglob("*.warc.gz"))


def reextract_command(data: Path, archive: Path, stats: Path, *, extracted_in_advance: bool = False) -> list[str]:
    settings = {"STDCRAWL_DATA_DIR": str(data), "STDCRAWL_STATS_FILE": str(stats), "LOG_LEVEL": "WARNING",
                "CONCURRENT_ITEMS": CRAWL_SETTINGS["CONCURRENT_ITEMS"]}
    args = ["--warc", str(archive)] + [a for k, v in settings.items() for a in ("-s", f"{k}={v}")]
    if extracted_in_advance:  # the same run with the extractor's work done before it starts
        return [sys.executable, str(HERE / "_extracted_in_advance.py"), str(archive), "--", *args]
    return [sys.executable, "-m", "stdcrawl", "reextract", *args]


class _NoReplica:
    """``_common.run`` counts requests at a replica; reextract has none (it must send nothing)."""

    requests: list[Any] = []


def read_and_extract(files: list[Path]) -> dict[str, float]:
    """Seconds (CPU, this process) to read every response of the files, and to extract every page read."""
    started = time.process_time()
    pages = [(r.url, r.decoded_body(), r.header("Content-Type")) for r in iter_responses(files)]
    read_s = time.process_time() - started
    started = time.process_time()
    for url, body, content_type in pages:
        canonical = canonicalize(page_key(url)) or url
        if parse_article_url(canonical):
            try:
                extract_article(body, canonical, content_type=content_type)
            except NotAnArticle:
                pass
        elif parse_list_url(canonical) or canonical.endswith(("index.shtml", "index.html")):
            extract_listing(body, canonical, content_type=content_type)
    return {"pages": len(pages), "read_s": read_s, "extract_s": time.process_time() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with_archive: list[tuple[Any, Path, dict[str, Any]]] = []
    without: list[tuple[Any, Path, dict[str, Any]]] = []
    reextracts: list[tuple[Any, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with ReplicaServer(ReplicaConfig(articles=args.articles), cache=True) as replica:
            articles = len(expected_records(replica.model))
            run(stdcrawl_command(replica.url, tmp / "warm", STDCRAWL_ARCHIVE="false"), replica)  # fill the page cache
            for n in range(args.rounds):
                for archive, out in ((True, with_archive), (False, without)):
                    data = tmp / f"data-{archive}-{n}"
                    stats_file = tmp / f"crawl-{archive}-{n}.json"
                    crawl = run(stdcrawl_command(replica.url, data, STDCRAWL_ARCHIVE=str(archive).lower(),
                                                 STDCRAWL_STATS_FILE=str(stats_file)), replica)
                    if crawl.returncode != 0:
                        sys.exit(f"stdcrawl crawl failed:\n{crawl.output[-3000:]}")
                    out.append((crawl, data, json.loads(stats_file.read_text())))
        # The site is gone: what follows reads the first archive only.
        archive_data = with_archive[0][1]
        files = warc_files(archive_data)
        archive_bytes = sum(p.stat().st_size for p in files)
        pages = with_archive[0][0].requests - 1  # all but robots.txt
        machinery: list[tuple[Any, dict[str, Any]]] = []
        for n in range(args.rounds):
            for advance, runs in ((False, reextracts), (True, machinery)):
                stats_file = tmp / f"reextract-{advance}-{n}.json"
                command = reextract_command(tmp / f"re-{n}", archive_data / "lake" / "stdaily" / "warc", stats_file,
                                            extracted_in_advance=advance)
                proc = run(command, _NoReplica)
                if proc.returncode != 0:
                    sys.exit(f"stdcrawl reextract failed:\n{proc.output[-3000:]}")
                runs.append((proc, json.loads(stats_file.read_text())))
                shutil.rmtree(tmp / f"re-{n}")
        bound = read_and_extract(files)

    def median(values: list[float]) -> float:
        return statistics.median(values)

    # Process CPU includes the interpreter's start (the same with and without: it cancels in the difference);
    # the run's own time per page is Scrapy's clock, spider open to close (the crawl is CPU-bound on 2 cores).
    cpu_with = median([c.cpu for c, _, _ in with_archive]) / pages
    cpu_without = median([c.cpu for c, _, _ in without]) / pages
    run_with = median([s["elapsed_time_seconds"] for _, _, s in with_archive]) / pages
    run_without = median([s["elapsed_time_seconds"] for _, _, s in without]) / pages
    answered = median([s["stdcrawl/reextract/answered"] for _, s in reextracts])
    elapsed = median([s["elapsed_time_seconds"] for _, s in reextracts])
    re_cpu = median([p.cpu for p, _ in reextracts]) / answered
    re_run_ms = elapsed / answered * 1000
    read_ms = bound["read_s"] / bound["pages"] * 1000
    extract_ms = bound["extract_s"] / bound["pages"] * 1000
    machinery_ms = median([s["elapsed_time_seconds"] / s["stdcrawl/reextract/answered"] for _, s in machinery]) * 1000
    figures = {
        "articles": articles,
        "rounds": args.rounds,
        "pages": pages,
        "archive": {
            "files": len(files),
            "bytes": archive_bytes,
            "bytes_per_1000_articles": round(archive_bytes * 1000 / articles),
            "bytes_per_page": round(archive_bytes / pages),
        },
        "crawl": {
            "cpu_ms_per_page_with_archive": round(cpu_with * 1000, 3),
            "cpu_ms_per_page_without": round(cpu_without * 1000, 3),
            "archive_adds_cpu_ms_per_page": round((cpu_with - cpu_without) * 1000, 3),
            "run_ms_per_page_with_archive": round(run_with * 1000, 3),
            "run_ms_per_page_without": round(run_without * 1000, 3),
            "archive_adds_share_of_run": round((run_with - run_without) / run_without, 3),
        },
        "reextract": {
            "pages_answered": answered,
            "pages_per_s": round(answered / elapsed, 1),
            "pages_per_s_whole_process": round(answered / median([p.wall for p, _ in reextracts]), 1),
            "run_ms_per_page": round(re_run_ms, 3),
            "process_cpu_ms_per_page": round(re_cpu * 1000, 3),
            "goal_pages_per_s": GOAL_PAGES_PER_S,
            "goal_met": answered / elapsed >= GOAL_PAGES_PER_S,
            "requests_sent": max(s.get("downloader/request_count", 0) for _, s in reextracts),
        },
        "bound": {
            "read_ms_per_page": round(read_ms, 3),
            "extract_ms_per_page": round(extract_ms, 3),
            "read_and_extract_pages_per_s_one_core": round(1000 / (read_ms + extract_ms), 1),
            "machinery_ms_per_page": round(machinery_ms, 3),
            "machinery_pages_per_s": round(1000 / machinery_ms, 1),
            "unexplained_ms_per_page": round(re_run_ms - read_ms - extract_ms - machinery_ms, 3),
            # Both pieces on two cores at once, nothing else changed: the most a second process could give.
            "two_core_ceiling_pages_per_s": round(1000 / max(machinery_ms, extract_ms), 1),
        },
    }
    c, r, b = figures["crawl"], figures["reextract"], figures["bound"]
    print(f"archive      {figures['archive']['bytes_per_1000_articles']:,} bytes per 1,000 articles "
          f"({figures['archive']['bytes_per_page']:,} per page)", file=sys.stderr)
    print(f"crawl        {c['cpu_ms_per_page_with_archive']} CPU ms/page with the archive, {c['cpu_ms_per_page_without']} "
          f"without: +{c['archive_adds_cpu_ms_per_page']} ms; run time per page +{c['archive_adds_share_of_run']:.1%}",
          file=sys.stderr)
    print(f"reextract    {r['pages_per_s']} pages/s ({r['run_ms_per_page']} ms/page; goal {GOAL_PAGES_PER_S}): "
          f"read {b['read_ms_per_page']} + extract {b['extract_ms_per_page']} + machinery {b['machinery_ms_per_page']} ms",
          file=sys.stderr)
    report("reextract_cost", figures)


if __name__ == "__main__":
    main()
