"""Extraction cost and quality: stdcrawl against trafilatura and newspaper4k on the same HTML.

Pages: every article page of a default replica (fetched from it, all four
generations, the redesign, the mirror damage, the GBK page), and the saved
pages of tests/pages that have a ground truth (the replica's, or a
hand-written expectation). For each extractor: milliseconds per page (median,
p95, over ``--rounds`` passes) and, against the truth, exact-match rates of
title, date (the day; the peers give no time) and authors, and the token F1
of the body (mean, min). List pages: every list page of every channel of the
replica, both families, read by stdcrawl (the peers read no lists): ms per
page and the share of the model's story entries found; the same for the
Cooperation lists of a 5,000-article replica (throughput.py's), whose pages
each carry a pager of a few hundred links (not in the goal).

Goals: stdcrawl's body F1 >= 0.99 with every title and date exact, at least 5x
faster than trafilatura, a median of at most 0.4 ms per article page and 1 ms
per list page. The peers come from the bench extra (``pip install -e
'.[bench]'``); without them the script stops with a one-line error rather
than report figures nobody can compare.

    python bench/extraction.py [--rounds 5]      figures, appended to bench/results/extraction.jsonl
    python bench/extraction.py --profile         where stdcrawl's time goes (cProfile), nothing appended
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import sys
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, report

from stdcrawl.extract import NotAnArticle, decode_html, extract_article, extract_listing
from stdcrawl.record import body_text
from stdcrawl.replica import render
from stdcrawl.replica.model import CHANNEL_SPECS, ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import record
from stdcrawl.urls import CANONICAL_BASE

PAGES = ROOT / "tests" / "pages"
LONG_LIST_ARTICLES = 5000  # throughput.py's replica
Fields = dict[str, Any]  # title, date (YYYY-MM-DD), authors (list), text


def truth_fields(rec: dict[str, Any]) -> Fields:
    text = rec.get("text") or body_text(rec["body"])
    return {"title": rec["title"], "date": rec["published_at"][:10], "authors": rec["authors"], "text": text}


def list_pages(config: ReplicaConfig | None = None, channels: tuple[str, ...] | None = None) -> list[tuple[str, str, set[str]]]:
    """(url, html, canonical URLs of the page's story entries in the model) for every list page of the replica
    (of ``channels``, default all)."""
    out = []
    with ReplicaServer(config or ReplicaConfig()) as replica:
        for spec in CHANNEL_SPECS:
            if channels is not None and spec.name not in channels:
                continue
            for family in ("legacy", "web") if spec.folder else ("web",):
                for n, entries in enumerate(replica.model.pages(spec.name, family), start=1):
                    path = render.channel_list_path(replica.model, spec.name, family, n)
                    with urllib.request.urlopen(replica.url + path) as response:
                        html = decode_html(response.read(), response.headers.get("Content-Type"))
                    stories = {CANONICAL_BASE + e.path for e in entries if e.kind == "story"}
                    out.append((CANONICAL_BASE + path, html, stories))
    return out


def pages() -> list[tuple[str, str, Fields]]:
    """(url, html, truth) for every page with a truth."""
    out = []
    with ReplicaServer(ReplicaConfig()) as replica:
        for story in replica.model.live_stories():
            if story.flaky:  # the replica's article that answers 503 twice first
                continue
            for path in story.paths.values():
                with urllib.request.urlopen(replica.url + path) as response:
                    html = decode_html(response.read(), response.headers.get("Content-Type"))
                out.append((CANONICAL_BASE + path, html, truth_fields(record(replica.model, story))))
    for entry in json.loads((PAGES / "index.json").read_text(encoding="utf-8")):
        if entry["kind"] != "article":
            continue
        html = decode_html((PAGES / f"{entry['name']}.html").read_bytes())
        truth = PAGES / f"{entry['name']}.truth.json"
        expected = PAGES / f"{entry['name']}.expected.json"
        if truth.exists():
            out.append((entry["url"], html, truth_fields(json.loads(truth.read_text(encoding="utf-8")))))
        elif expected.exists():
            out.append((entry["url"], html, truth_fields(json.loads(expected.read_text(encoding="utf-8"))["expect"])))
    return out


def with_stdcrawl(html: str, url: str) -> Fields:
    try:
        a = extract_article(html, url)
    except NotAnArticle:
        return {"title": None, "date": None, "authors": [], "text": ""}
    return {"title": a.title, "date": a.published_at[:10], "authors": a.authors, "text": a.text}


def with_trafilatura(html: str, url: str) -> Fields:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    data = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    authors = [a.strip() for a in re.split(r";|,| and |&", data.get("author") or "") if a.strip()]
    return {"title": data.get("title"), "date": data.get("date"), "authors": authors, "text": data.get("text") or ""}


def with_newspaper(html: str, url: str) -> Fields:
    import newspaper

    article = newspaper.Article(url, fetch_images=False)
    article.download(input_html=html)
    article.parse()
    date = article.publish_date.strftime("%Y-%m-%d") if article.publish_date else None
    return {"title": article.title, "date": date, "authors": list(article.authors), "text": article.text or ""}


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.casefold()))


def f1(got: str, want: str) -> float:
    g, w = tokens(got), tokens(want)
    common = sum((g & w).values())
    if not common:
        return 0.0
    precision, recall = common / sum(g.values()), common / sum(w.values())
    return 2 * precision * recall / (precision + recall)


def same(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def _timed(extract: Callable[[str, str], Any], corpus: list[tuple[str, str, Any]], rounds: int) -> tuple[list[float], list[Any]]:
    """Milliseconds of every call over ``rounds`` passes (each page once a pass), and the last pass's results."""
    extract(corpus[0][1], corpus[0][0])  # warm up (imports, caches)
    times: list[float] = []
    results: list[Any] = []
    for _ in range(rounds):
        results = []
        for url, html, _truth in corpus:
            started = time.perf_counter()
            results.append(extract(html, url))
            times.append((time.perf_counter() - started) * 1000)
    return sorted(times), results


def _ms(times: list[float]) -> dict[str, float]:
    return {"ms_median": round(statistics.median(times), 3), "ms_p95": round(times[int(0.95 * (len(times) - 1))], 3)}


def measure(extract: Callable[[str, str], Fields], corpus: list[tuple[str, str, Fields]], rounds: int = 1) -> dict[str, Any]:
    times, got = _timed(extract, corpus, rounds)
    scores = [
        (
            same(g["title"], truth["title"]),
            g["date"] == truth["date"],
            sorted(map(str.casefold, g["authors"])) == sorted(map(str.casefold, truth["authors"])),
            f1(g["text"], truth["text"]),
        )
        for g, (_url, _html, truth) in zip(got, corpus, strict=True)
    ]
    n = len(corpus)
    return {
        **_ms(times),
        "title_exact": round(sum(s[0] for s in scores) / n, 3),
        "date_exact": round(sum(s[1] for s in scores) / n, 3),
        "authors_exact": round(sum(s[2] for s in scores) / n, 3),
        "body_f1_mean": round(statistics.mean(s[3] for s in scores), 4),
        "body_f1_min": round(min(s[3] for s in scores), 4),
    }


def measure_lists(corpus: list[tuple[str, str, set[str]]], rounds: int) -> dict[str, Any]:
    times, got = _timed(lambda html, url: extract_listing(html, url), corpus, rounds)
    wanted = sum(len(stories) for _, _, stories in corpus)
    found = sum(len(stories & {e.url for e in listing.entries}) for listing, (_, _, stories) in zip(got, corpus, strict=True))
    return {**_ms(times), "story_entries_found": round(found / wanted, 4) if wanted else None}


def profile(corpus: list[tuple[str, str, Fields]], lists: list[tuple[str, str, set[str]]], top: int) -> None:
    """Print where stdcrawl's extraction spends its time: cProfile, by own time, then by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        for url, html, _truth in corpus:
            with_stdcrawl(html, url)
        for url, html, _stories in lists:
            extract_listing(html, url)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        print(out.getvalue())


def _peers() -> list[tuple[str, Callable[[str, str], Fields]]]:
    try:
        import newspaper  # noqa: F401
        import trafilatura  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"bench/extraction.py: the peers are not installed ({exc}): pip install -e '.[bench]'") from None
    return [("trafilatura", with_trafilatura), ("newspaper4k", with_newspaper)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the pages for stdcrawl's timings (default 5; the peers get 1)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of stdcrawl's extraction instead; append nothing")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile (default 30)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    warnings.filterwarnings("ignore")
    corpus, lists = pages(), list_pages()
    if args.profile:
        profile(corpus, lists, args.top)
        return 0
    peers = _peers()
    results: dict[str, Any] = {"stdcrawl": measure(with_stdcrawl, corpus, args.rounds)}
    for name, extract in peers:
        results[name] = measure(extract, corpus)
    ours = results["stdcrawl"]
    listing = measure_lists(lists, args.rounds)
    # A long list, as a backfill walks it: the replica's pager links every page of the list, so each of
    # these pages carries a few hundred links besides its entries. Shown beside the goal, not in it.
    long_lists = list_pages(ReplicaConfig(articles=LONG_LIST_ARTICLES), ("Cooperation",))
    figures: dict[str, Any] = {"pages": len(corpus), "list_pages": len(lists), "rounds": args.rounds, **results, "stdcrawl_listing": listing,
                               "stdcrawl_listing_long": {"articles": LONG_LIST_ARTICLES, "list_pages": len(long_lists),
                                                         **measure_lists(long_lists, args.rounds)}}
    figures["speedup_vs_trafilatura"] = round(results["trafilatura"]["ms_median"] / ours["ms_median"], 1)
    figures["goal_met"] = bool(
        ours["body_f1_min"] >= 0.99 and ours["title_exact"] == 1.0 and ours["date_exact"] == 1.0
        and figures["speedup_vs_trafilatura"] >= 5 and ours["ms_median"] <= 0.4 and listing["ms_median"] <= 1.0
    )
    report("extraction", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
