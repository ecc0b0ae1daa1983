"""The template signature: one per template, whatever the story, the request or the extraction path.

Pages come from the replica's renderer (its legacy, /web/ and redesigned
templates, and spam-mirror copies), so what counts as "the same template" is
the replica's, never the extractor's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest

import stdcrawl.extract.article as article_module
from stdcrawl.extract import extract_article
from stdcrawl.replica import render
from stdcrawl.replica.model import ReplicaConfig, SiteModel, Story
from stdcrawl.urls import CANONICAL_BASE

MODEL = SiteModel(ReplicaConfig(articles=80))
SIGNATURE = re.compile(r"t1:[0-9a-f]{16}")
CONTENT = ("title", "published_at", "source", "authors", "byline", "editor", "images", "body", "text", "content_hash")


def template_of(story: Story, generation: str) -> str:
    family = "legacy" if generation in ("G1", "G1b") else "web"
    return f"{story.layout}-{family}" if story.layout != "alt" else "alt"


def pages(layouts: tuple[str, ...] = ("standard", "alt", "mirror")) -> list[tuple[str, Story, str]]:
    return [
        (template_of(s, g), s, g)
        for s in MODEL.live_stories()
        for g in s.paths
        if s.layout in layouts and s.encoding == "utf-8"
    ]


def extract(story: Story, generation: str, request_no: int = 1, html: str | None = None) -> Any:
    html = html if html is not None else render.article_page(MODEL, story, generation, request_no=request_no)
    return extract_article(html, CANONICAL_BASE + story.paths[generation])


def test_each_template_has_one_signature_for_every_story_and_request() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    stories: dict[str, set[int]] = defaultdict(set)
    for n, (template, story, generation) in enumerate(pages()):
        for request_no in (1 + n, 1000 + 7 * n):  # another "Top News" pick, other mirror decoy ids
            record = extract(story, generation, request_no)
            assert SIGNATURE.fullmatch(record.template), record.template
            seen[template].add(record.template)
            stories[template].add(story.index)
    assert {name: len(found) for name, found in seen.items()} == {name: 1 for name in seen}
    assert {"standard-legacy", "standard-web", "alt"} <= set(seen)
    assert all(len(indexes) >= 2 for indexes in stories.values()), stories  # different stories agreed
    assert min(len(stories["standard-legacy"]), len(stories["standard-web"]), len(stories["alt"])) >= 5


def test_the_legacy_web_and_redesigned_templates_differ() -> None:
    found: dict[str, str] = {}
    for template, story, generation in pages(("standard", "alt")):
        found.setdefault(template, extract(story, generation).template)
    assert set(found) == {"standard-legacy", "standard-web", "alt"}
    assert len(set(found.values())) == 3


def _rename_classes(html: str) -> str:
    return re.sub(r'class="([^"]*)"', lambda m: 'class="' + " ".join(f"v2-{c}" for c in m[1].split()) + '"', html)


@pytest.mark.parametrize("family", ["G1b", "G3"])
def test_every_class_renamed_is_another_template_with_nothing_lost(family: str) -> None:
    story = next(s for s in MODEL.live_stories() if family in s.paths and s.layout == "standard" and s.encoding == "utf-8")
    html = render.article_page(MODEL, story, family, request_no=1)
    renamed = _rename_classes(html)
    assert renamed != html
    before, after = extract(story, family, html=html), extract(story, family, html=renamed)
    assert after.template != before.template
    assert after.parser.endswith("/text") and before.parser.endswith("/selectors")  # the selectors missed...
    assert {k: getattr(after, k) for k in CONTENT} == {k: getattr(before, k) for k in CONTENT}  # ...and nothing was lost


def test_ids_and_random_looking_classes_do_not_count() -> None:
    story = next(s for s in MODEL.live_stories() if "G3" in s.paths and s.layout == "standard" and s.encoding == "utf-8")
    html = render.article_page(MODEL, story, "G3", request_no=1)
    noisy = re.sub(r'<div class="([^"]*)"', lambda m: f'<div id="n{len(m[1])}x" class="{m[1]} q7x2k"', html)
    assert noisy != html
    assert extract(story, "G3", html=noisy).template == extract(story, "G3", html=html).template


def test_both_extraction_paths_give_the_same_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = [(t, s, g) for t, s, g in pages(("standard", "mirror"))][::3]
    fast = [extract(s, g) for _, s, g in chosen]
    assert {r.parser.rsplit("/", 1)[1] for r in fast} == {"selectors"}
    monkeypatch.setattr(article_module, "BY_FAMILY", {"legacy": (), "web": ()})
    text = [extract(s, g) for _, s, g in chosen]
    assert {r.parser.rsplit("/", 1)[1] for r in text} == {"text"}
    assert [r.template for r in text] == [r.template for r in fast]
