"""Extraction cost and quality: stdcrawl against trafilatura and newspaper4k on the same HTML.

Pages: every article page of a default replica (fetched from it, all four
generations, the redesign, the mirror damage, the GBK page), and the saved
pages of tests/pages that have a ground truth (the replica's, or a
hand-written expectation). For each extractor: milliseconds per page (median,
p95) and, against the truth, exact-match rates of title, date (the day; the
peers give no time) and authors, and the token F1 of the body (mean, min).
Goal: stdcrawl's body F1 >= 0.99 with every title and date exact, and at least
5x faster than trafilatura. The peers come from the bench extra:
``pip install -e '.[bench]'``.

    python bench/extraction.py
"""

from __future__ import annotations

import json
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

from stdcrawl.extract import NotAnArticle, extract_article
from stdcrawl.extract.article import decode_html
from stdcrawl.record import body_text
from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer
from stdcrawl.replica.truth import record
from stdcrawl.urls import CANONICAL_BASE

PAGES = ROOT / "tests" / "pages"
Fields = dict[str, Any]  # title, date (YYYY-MM-DD), authors (list), text


def truth_fields(rec: dict[str, Any]) -> Fields:
    text = rec.get("text") or body_text(rec["body"])
    return {"title": rec["title"], "date": rec["published_at"][:10], "authors": rec["authors"], "text": text}


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


def measure(extract: Callable[[str, str], Fields], corpus: list[tuple[str, str, Fields]]) -> dict[str, Any]:
    extract(corpus[0][1], corpus[0][0])  # warm up (imports, caches)
    times, scores = [], []
    for url, html, truth in corpus:
        started = time.perf_counter()
        got = extract(html, url)
        times.append((time.perf_counter() - started) * 1000)
        scores.append((
            same(got["title"], truth["title"]),
            got["date"] == truth["date"],
            sorted(map(str.casefold, got["authors"])) == sorted(map(str.casefold, truth["authors"])),
            f1(got["text"], truth["text"]),
        ))
    times.sort()
    n = len(corpus)
    return {
        "ms_median": round(statistics.median(times), 2),
        "ms_p95": round(times[int(0.95 * (n - 1))], 2),
        "title_exact": round(sum(s[0] for s in scores) / n, 3),
        "date_exact": round(sum(s[1] for s in scores) / n, 3),
        "authors_exact": round(sum(s[2] for s in scores) / n, 3),
        "body_f1_mean": round(statistics.mean(s[3] for s in scores), 4),
        "body_f1_min": round(min(s[3] for s in scores), 4),
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    corpus = pages()
    results = {"stdcrawl": measure(with_stdcrawl, corpus)}
    for name, extract in (("trafilatura", with_trafilatura), ("newspaper4k", with_newspaper)):
        try:
            results[name] = measure(extract, corpus)
        except ImportError:
            results[name] = None  # the bench extra is not installed
    ours = results["stdcrawl"]
    figures: dict[str, Any] = {"pages": len(corpus), **results}
    if results["trafilatura"]:
        figures["speedup_vs_trafilatura"] = round(results["trafilatura"]["ms_median"] / ours["ms_median"], 1)
    figures["goal_met"] = bool(
        ours["body_f1_min"] >= 0.99 and ours["title_exact"] == 1.0 and ours["date_exact"] == 1.0
        and figures.get("speedup_vs_trafilatura", 0) >= 5
    )
    report("extraction", figures)


if __name__ == "__main__":
    main()
