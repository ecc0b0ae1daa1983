"""The replica: deterministic, faithful to SITE.md, hostile where the site is, honest about its truth."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import replace

import pytest
from conftest import ROOT

import stdcrawl.extract.article as article_module
from stdcrawl.extract import NotAnArticle, extract_article, extract_listing
from stdcrawl.replica import render
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.server import ReplicaServer, Router
from stdcrawl.replica.truth import expected_records, forbidden_urls, record
from stdcrawl.urls import CANONICAL_BASE, parse_article_url

MODEL = SiteModel(ReplicaConfig())


def _fetch(router: Router, path: str) -> tuple[int, bytes, str]:
    reply = router.route(path)
    return reply.status, reply.body, reply.content_type


def _without_sidebar(html: bytes) -> bytes:
    return re.sub(rb'<div class="right">.*?</div>\n', b"", html, flags=re.S)


def test_same_seed_same_site_and_another_seed_another_site() -> None:
    again = SiteModel(ReplicaConfig())
    assert expected_records(again) == expected_records(MODEL)
    assert again.nodes == MODEL.nodes
    other = SiteModel(ReplicaConfig(seed=2))
    assert {r["id"] for r in expected_records(other)} != {r["id"] for r in expected_records(MODEL)}


def test_default_size_and_channels() -> None:
    coop = MODEL.live_stories("Cooperation")
    assert len(coop) == 300
    assert 25 <= len(MODEL.live_stories("Innovation China")) <= 40
    assert 25 <= len(MODEL.live_stories("Comment")) <= 40
    assert MODEL.nodes["Innovation China"] == "410"
    assert MODEL.nodes["Cooperation"] not in ("410", MODEL.nodes["Comment"])


def test_all_four_generations_with_their_date_ranges_and_twins() -> None:
    seen: dict[str, list[int]] = {}
    for story in MODEL.stories:
        for generation, path in story.paths.items():
            parsed = parse_article_url(CANONICAL_BASE + path)
            assert parsed is not None and parsed.generation.value == generation, path
            seen.setdefault(generation, []).append(story.published.year)
    assert set(seen) == {"G1", "G1b", "G2", "G3"}
    assert set(seen["G1"]) == {2021}
    assert min(seen["G1b"]) == 2022 and max(seen["G1b"]) == 2024
    assert min(seen["G2"]) == 2022 and max(seen["G2"]) == 2024
    assert min(seen["G3"]) == 2024
    twins = [s for s in MODEL.stories if {"G1b", "G2"} <= set(s.paths)]
    assert len(twins) >= 30
    assert all(2022 <= s.published.year <= 2024 for s in twins)


def test_every_variant_of_site_md_is_served() -> None:
    coop = MODEL.live_stories("Cooperation")
    assert {s.meta_style for s in coop} == {0, 1, 2, 3, 4}
    bylines = Counter((s.byline or "").split(" ")[0] for s in coop)
    assert bylines[""] and bylines["By"] and bylines["Edited"]
    assert any(s.byline == "By Staff Reporters" and s.author for s in coop)
    assert {s.credit.split(" ")[0] for s in coop if s.credit} >= {"PHOTO:", "COURTESY", "Photo"}
    assert any(s.editor for s in coop) and any(len(s.sections) > 1 for s in coop)
    assert any(not (s.image or s.byline) for s in coop)
    assert Counter(s.layout for s in coop).keys() == {"standard", "alt", "mirror"}
    assert sum(s.encoding == "gbk" for s in coop) == 1


def test_every_article_page_extracts_to_its_truth_by_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    router = Router(MODEL)
    pages = [(s, g, p) for s in MODEL.stories for g, p in s.paths.items()]
    bodies = {}
    for _, _, path in pages:
        status, body, content_type = _fetch(router, path)
        if status == 503:  # the flaky article answers on the third try
            status, body, content_type = _fetch(router, path)
            status, body, content_type = _fetch(router, path)
        assert status == 200, path
        bodies[path] = (body, content_type)

    def check(label: str) -> Counter[str]:
        paths: Counter[str] = Counter()
        for story, generation, path in pages:
            body, content_type = bodies[path]
            got = extract_article(body, CANONICAL_BASE + path, content_type=content_type).to_dict()
            want = record(MODEL, story)
            for name in ("title", "published_at", "source", "authors", "byline", "editor", "images", "body",
                         "text", "word_count", "language", "content_hash", "section_label"):
                assert got[name] == want[name], (label, path, story.layout, name)
            assert got["parser"].startswith(generation + "/")
            paths[got["parser"].rsplit("/", 1)[1]] += 1
        return paths

    assert set(check("fast path")) == {"selectors", "text"}  # the alt redesign needs the text path
    # Every selector missing: the text-anchored reader alone must give the same records.
    monkeypatch.setattr(article_module, "BY_FAMILY", {"legacy": (), "web": ()})
    assert set(check("text path")) == {"text"}


def test_lists_hold_every_live_story_newest_first_with_hostile_entries() -> None:
    router = Router(MODEL)
    for family, generations in (("legacy", {"G1", "G1b"}), ("web", {"G2", "G3"})):
        listed: list[str] = []
        for page in range(1, len(MODEL.pages("Cooperation", family)) + 2):
            status, body, _ = _fetch(router, render.channel_list_path(MODEL, "Cooperation", family, page))
            if status == 404:
                assert page == len(MODEL.pages("Cooperation", family)) + 1
                break
            listed += [e.url for e in extract_listing(body, CANONICAL_BASE + render.channel_list_path(MODEL, "Cooperation", family, page)).entries]
        want = {CANONICAL_BASE + p for s in MODEL.live_stories("Cooperation") for g, p in s.paths.items() if g in generations}
        assert want <= set(listed)
        dates = [parse_article_url(u).date for u in listed if parse_article_url(u)]  # type: ignore[union-attr]
        assert sum(a < b for a, b in itertools.pairwise(dates)) <= 3  # newest first, bar the planted duplicates
    kinds = Counter(e.kind for e in MODEL.hostile)
    assert kinds == {"missing": 1, "broken": 1, "special": 1, "topic": 1, "cross": 1, "offsite": 3}


def test_hostile_pages_answer_as_planned() -> None:
    router = Router(MODEL)
    by_kind = {e.kind: e for e in MODEL.hostile}
    assert _fetch(router, by_kind["missing"].path)[0] == 404
    assert [_fetch(router, by_kind["broken"].path)[0] for _ in range(4)] == [500] * 4
    flaky = next(s for s in MODEL.stories if s.flaky)
    path = flaky.paths[flaky.primary]
    assert [_fetch(router, path)[0] for _ in range(4)] == [503, 503, 200, 200]
    status, body, _ = _fetch(router, by_kind["special"].path)
    assert status == 200
    with pytest.raises(NotAnArticle):
        extract_article(body, CANONICAL_BASE + by_kind["special"].path)
    robots = _fetch(router, "/robots.txt")[1].decode()
    assert all(f"Disallow: {p}" in robots for p in MODEL.robots_paths()) and MODEL.robots_paths()


def test_the_gbk_page_is_gbk_encoded_with_an_honest_charset() -> None:
    story = next(s for s in MODEL.stories if s.encoding == "gbk")
    status, body, content_type = _fetch(Router(MODEL), story.paths[story.primary])
    assert status == 200 and content_type.endswith("charset=GBK")
    assert b'charset=gbk' in body
    assert "科技日报".encode("gbk") in body and "科技日报".encode() not in body


def test_top_news_changes_between_requests_but_the_article_does_not() -> None:
    router = Router(MODEL)
    story = next(s for s in MODEL.live_stories("Cooperation") if s.layout == "standard" and "G3" in s.paths)
    first, second = _fetch(router, story.paths["G3"])[1], _fetch(router, story.paths["G3"])[1]
    assert first != second
    assert _without_sidebar(first) == _without_sidebar(second)
    url = CANONICAL_BASE + story.paths["G3"]
    assert extract_article(first, url).content_hash == extract_article(second, url).content_hash


def test_pages_link_the_site_every_way_and_link_spam_hosts() -> None:
    router = Router(MODEL)
    html = b"".join(_fetch(router, render.channel_list_path(MODEL, "Cooperation", f, p))[1] for f in ("legacy", "web") for p in (1, 2, 3))
    for prefix in (b'href="/', b'href="https://www.stdaily.com/', b'href="http://stdaily.com/', b'href="https://m.stdaily.com/', b'href="http://www.stdaily.com/'):
        assert prefix in html, prefix
    assert b".example/" in html


def test_epochs_add_edit_and_remove_young_articles() -> None:
    later = SiteModel(replace(MODEL.config, epoch=2))
    before = {r["id"]: r for r in expected_records(MODEL)}
    after = {r["id"]: r for r in expected_records(later)}
    new = [s for s in later.stories if s.added_epoch]
    removed = [s for s in later.stories if s.removed_epoch]
    edited = [s for s in later.stories if s.edits]
    assert len(new) == 2 * later.config.new_per_epoch
    assert len(removed) == 2 * later.config.removals_per_epoch
    assert len(edited) >= later.config.edits_per_epoch
    ids = {s.index: parse_article_url(CANONICAL_BASE + s.paths[s.primary]).id for s in later.stories}  # type: ignore[union-attr]
    gone = {ids[s.index] for s in removed}
    assert set(after) == set(before) - gone | {ids[s.index] for s in new} - gone
    for story in edited:
        if ids[story.index] in before and story.alive(2):
            assert after[ids[story.index]]["content_hash"] != before[ids[story.index]]["content_hash"]
    # Edits and removals hit young articles: the ones a scheduled run re-checks.
    for story in removed + edited:
        for epoch in [story.removed_epoch or 0] + [when for when, _ in story.edits]:
            if epoch:
                assert later.today_at(epoch) - story.published.date() <= dt.timedelta(days=2)
    router = Router(later)
    for story in removed:
        assert all(router.route(p).status == 404 for p in story.paths.values())
        assert CANONICAL_BASE + story.paths[story.primary] in forbidden_urls(later)
    list_path = render.channel_list_path(later, "Cooperation", "web")
    newest = extract_listing(router.route(list_path).body, CANONICAL_BASE + list_path).entries[:4]
    assert {e.url for e in newest} <= {CANONICAL_BASE + s.paths["G3"] for s in new if s.added_epoch == 2}


def test_server_serves_on_loopback_logs_requests_and_refuses_to_proxy() -> None:
    with ReplicaServer(ReplicaConfig(articles=20)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/web/English/index.html") as response:
            assert response.status == 200 and b"Cooperation" in response.read()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.url + "/no/such/page.html")
        assert info.value.code == 404
        proxy = urllib.request.build_opener(urllib.request.ProxyHandler({"http": server.url}))
        with pytest.raises(urllib.error.HTTPError) as info:
            proxy.open("http://www.stdaily-news.example/English/index.shtml")
        assert info.value.code == 502
        with urllib.request.urlopen(server.url + "/_replica/requests") as response:
            log = json.loads(response.read())
        assert [(r["target"], r["status"]) for r in log] == [
            ("/web/English/index.html", 200),
            ("/no/such/page.html", 404),
            ("http://www.stdaily-news.example/English/index.shtml", 502),
        ]


def test_replica_serve_command_prints_its_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stdcrawl", "replica", "serve", "--articles", "15", "--seed", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        with urllib.request.urlopen(url.group(0) + "/robots.txt") as response:
            assert b"User-agent: *" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_truth_command_writes_the_expected_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "truth.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "stdcrawl", "replica", "truth", "--articles", "40", "-o", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records == json.loads(json.dumps(expected_records(SiteModel(ReplicaConfig(articles=40)))))
