"""Extraction on saved pages: goldens, the replica's truth, hand-written expectations.

After a deliberate change to extraction: ``python tests/goldens.py``, then
review ``git diff tests/pages`` before committing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from goldens import PAGES, golden, load_index

from stdcrawl.extract import NotAnArticle, extract_article

INDEX = load_index()
ARTICLES = [e for e in INDEX if e["kind"] == "article"]
REQUIRED = ("id", "url", "title", "published_at", "body", "text", "content_hash", "parser")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("entry", INDEX, ids=lambda e: e["name"])
def test_extraction_matches_its_golden(entry: dict[str, Any]) -> None:
    path = PAGES / f"{entry['name']}.json"
    assert path.exists(), f"no golden for {entry['name']}: run python tests/goldens.py"
    assert golden(entry) == _load(path), "extraction changed: run python tests/goldens.py and review the diff"


@pytest.mark.parametrize("entry", ARTICLES, ids=lambda e: e["name"])
def test_golden_has_every_required_field(entry: dict[str, Any]) -> None:
    record = _load(PAGES / f"{entry['name']}.json")
    assert "not_article" not in record
    for name in REQUIRED:
        assert record[name], f"{entry['name']}: {name} is empty"
    assert all(section["paragraphs"] or section["heading"] for section in record["body"])


@pytest.mark.parametrize("entry", [e for e in ARTICLES if e["origin"] == "replica"], ids=lambda e: e["name"])
def test_replica_pages_agree_with_the_replica_truth(entry: dict[str, Any]) -> None:
    record = _load(PAGES / f"{entry['name']}.json")
    truth = _load(PAGES / f"{entry['name']}.truth.json")
    generation = truth.pop("generation")
    assert record["parser"].split("/")[0] == generation
    assert {name: record[name] for name in truth} == truth


def _expectations() -> list[Path]:
    return sorted(PAGES.glob("*.expected.json")) + sorted((PAGES / "foreign").glob("*.expected.json"))


@pytest.mark.parametrize("path", _expectations(), ids=lambda p: p.name.removesuffix(".expected.json"))
def test_pages_in_unknown_markup_match_hand_written_expectations(path: Path) -> None:
    spec = _load(path)
    html = path.with_name(path.name.removesuffix(".expected.json") + ".html").read_bytes()
    if spec["not_article"]:
        with pytest.raises(NotAnArticle):
            extract_article(html, spec["url"])
        return
    record = extract_article(html, spec["url"]).to_dict()
    assert {name: record[name] for name in spec["expect"]} == spec["expect"]


def test_title_meta_caption_byline_and_sidebar_never_leak_into_the_body() -> None:
    for entry in ARTICLES:
        record = _load(PAGES / f"{entry['name']}.json")
        text = record["text"]
        assert record["title"] not in text
        for marker in ("Source:", "Author:", "Top News", "Copyright", "position:", "Editor:", "mailto"):
            assert marker not in text, (entry["name"], marker)
        for image in record["images"]:
            assert not image["caption"] or image["caption"] not in text
        if record["byline"]:
            assert f"By {record['byline']}" not in text


def test_a_non_article_page_gets_a_one_line_reason() -> None:
    page = next(e for e in INDEX if e["kind"] == "not_article")
    with pytest.raises(NotAnArticle) as info:
        extract_article((PAGES / f"{page['name']}.html").read_bytes(), page["url"])
    assert "\n" not in str(info.value) and str(info.value)


@pytest.mark.parametrize("page", ["", "<html><body></body></html>", "<p>Just a paragraph.</p>", "\x00\x01binary"])
def test_empty_and_broken_pages_are_not_articles(page: str) -> None:
    with pytest.raises(NotAnArticle):
        extract_article(page, "https://www.stdaily.com/web/English/2024-05/08/content_123456.html")
