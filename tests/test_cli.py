"""The `stdcrawl` command: extract, demo, and its answers to bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PAGES = ROOT / "tests" / "pages"


def stdcrawl(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stdcrawl", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_extract_prints_the_record_as_json() -> None:
    proc = stdcrawl("extract", str(PAGES / "gbk.html"), "--url", json.loads((PAGES / "index.json").read_text())[0]["url"].replace("https://www.", "http://m."))
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["url"].startswith("https://www.stdaily.com/")
    assert record["title"] and record["body"]


def test_extract_of_a_gbk_page_reads_its_chinese_meta() -> None:
    entry = next(e for e in json.loads((PAGES / "index.json").read_text()) if e["name"] == "gbk")
    record = json.loads(stdcrawl("extract", str(PAGES / "gbk.html"), "--url", entry["url"]).stdout)
    assert (record["source"], record["authors"], record["editor"]) == ("科技日报", ["卢子建"], "宗诗涵")


def test_extract_of_a_non_article_exits_2_with_one_line() -> None:
    proc = stdcrawl("extract", str(PAGES / "special-topic.html"), "--url", "https://www.stdaily.com/web/English/2025-09/20/content_103537.html")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "not an article" in proc.stderr and "meta line" in proc.stderr


def test_extract_refuses_a_missing_file_and_an_off_site_url() -> None:
    missing = stdcrawl("extract", "no/such/page.html", "--url", "https://www.stdaily.com/web/English/2024-05/08/content_123456.html")
    assert missing.returncode == 2 and "cannot read no/such/page.html" in missing.stderr and "Traceback" not in missing.stderr
    offsite = stdcrawl("extract", str(PAGES / "gbk.html"), "--url", "http://www.stdaily-news.example/web/English/index.html")
    assert offsite.returncode == 2 and "is not a URL on www.stdaily.com" in offsite.stderr


def test_bad_replica_options_are_usage_errors() -> None:
    proc = stdcrawl("replica", "truth", "--articles", "0", "-o", "-")
    assert proc.returncode == 2 and "--articles" in proc.stderr and "Traceback" not in proc.stderr
    proc = stdcrawl("replica", "serve", "--today", "yesterday")
    assert proc.returncode == 2 and "invalid fromisoformat value" in proc.stderr
    proc = stdcrawl("replica", "serve", "--faults", "5xx,flood")
    assert proc.returncode == 2 and "unknown fault flood; the faults are: 5xx," in proc.stderr


def test_demo_crawls_a_replica_into_the_data_dir_and_checks_it(tmp_path: Path) -> None:
    proc = stdcrawl("demo", "--articles", "60", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parts = list((tmp_path / "data" / "demo" / "lake").rglob("part-*.jsonl.gz"))
    assert len(parts) == 1 and str(parts[0]) in proc.stdout
    records = [line for line in gzip.decompress(parts[0].read_bytes()).split(b"\n") if line]
    assert "every field equal" in proc.stdout and f"{len(records)} of {len(records)} expected articles" in proc.stdout
    verify = stdcrawl("lake", "verify", str(tmp_path / "data" / "demo" / "lake"))
    assert verify.returncode == 0 and f"1 of 1 run folders ok, {len(records)} records" in verify.stdout
