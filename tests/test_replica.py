"""The replica: deterministic, faithful to docs/site.md, hostile where the site is, honest about its truth.

Every check reads the replica's pages with this module's own small HTML reader and
compares them with the model's data; nothing here goes through stdcrawl's extraction,
so a bug there cannot make the replica look right.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import http.client
import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zlib
from collections import Counter
from dataclasses import fields, replace
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jsonschema  # type: ignore[import-untyped]
import pytest
from conftest import ROOT

from stdcrawl.extract import selectors as crawler_selectors
from stdcrawl.replica import render
from stdcrawl.replica.faults import CATALOGUE, FAULTS
from stdcrawl.replica.model import ReplicaConfig, SiteModel, Story, gen_family
from stdcrawl.replica.server import ReplicaServer, Router
from stdcrawl.replica.truth import content_hash, count_words, expected_records, forbidden_urls, record
from stdcrawl.urls import CANONICAL_BASE, parse_article_url

MODEL = SiteModel(ReplicaConfig())
SMALL = ReplicaConfig(articles=60)
SITE_HOSTS = ("www.stdaily.com", "stdaily.com", "m.stdaily.com")


# -- a reader of our own: visible lines, links, class names --------------------------------

_BLOCKS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol nav header footer section article aside figure figcaption main "
    "table tr td form body html br".split()
)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._hidden = 0

    def _break(self) -> None:
        text = " ".join("".join(self._line).split())
        if text:
            self.lines.append(text)
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title", "head"):
            self._hidden += 1
        elif tag in _BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title", "head"):
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._line.append(data)


def lines(html: str | bytes) -> list[str]:
    """The page's visible text, one block a line, spaces (non-breaking ones too) collapsed."""
    reader = _Visible()
    reader.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    reader.close()
    reader._break()
    return reader.lines


def hrefs(html: str, base: str) -> list[str]:
    """Every link of the page as a canonical path when it is on a stdaily host, else as written."""
    out = []
    for href in re.findall(r'href="([^"]*)"', html):
        url = urlsplit(urljoin(base, href))
        out.append(url.path if url.hostname in SITE_HOSTS else url.geturl())
    return out


def class_tokens(html: str) -> set[str]:
    return {tok for value in re.findall(r'\s(?:class|id)="([^"]*)"', html) for tok in value.split()}


def selector_names() -> set[str]:
    """Every class and id the crawler's selectors name."""
    names: set[str] = set()
    for sets in crawler_selectors.BY_FAMILY.values():
        for sel in sets:
            for f in fields(sel):
                names |= set(re.findall(r"[.#]([A-Za-z][\w-]*)", str(getattr(sel, f.name) or "")))
    assert {"detail-content", "Zoom"} <= names
    return names


def subsequence(want: list[str], got: list[str]) -> bool:
    it = iter(got)
    return all(any(line == w for line in it) for w in want)


def article_lines(model: SiteModel, story: Story, generation: str) -> list[str]:
    """What a reader must see of the story, in order, from the model's data alone."""
    label = story.section_label()
    crumb = (f"position: EnglishChannel > {label} > Article" if gen_family(generation) == "legacy"
             else f"position: EnglishChannel > {label}> {story.title}")
    out = [crumb, story.title]
    figure = [f"{story.caption} ({story.credit})"] if story.caption else []
    byline = [f"{story.byline_prefix} {story.byline_name}"] if story.byline_name else []
    out += byline + figure if story.byline_first else figure + byline
    for heading, paragraphs in story.sections_at(model.epoch):
        out += ([heading] if heading else []) + paragraphs
    if story.editor:
        out.append(f"Editor: {story.editor}")
    return out


def list_region(html: str) -> str:
    """The entries of a standard list page, without navigation or sidebar."""
    found = re.search(r'<div class="(?:list|news-list)">(.*?)</div>\n', html, re.S)
    assert found, "no list region"
    return found[1]


def meta_line_of(page: list[str], story: Story) -> str:
    found = [line for line in page if line.startswith("Source:") and f"{story.published:%Y-%m-%d %H:%M:%S}" in line]
    assert len(found) == 1, found
    return found[0]


def _page(router: Router, path: str) -> tuple[int, str, Any]:
    reply = router.route(path)
    found = re.search(r"charset=([\w-]+)", reply.content_type)
    return reply.status, reply.body.decode(found[1] if found else "utf-8"), reply


def plain_stories(model: SiteModel, layout: str = "standard") -> list[tuple[Story, str, str]]:
    return [(s, g, p) for s in model.live_stories("Cooperation") for g, p in s.paths.items()
            if s.layout == layout and not s.flaky]


# -- determinism, size, variety ------------------------------------------------------------


def test_same_seed_same_site_and_another_seed_another_site() -> None:
    config = ReplicaConfig(articles=60, faults=tuple(FAULTS), header_mb=1)
    one, two = Router(SiteModel(config)), Router(SiteModel(config))
    paths = ["/robots.txt", "/English/index.shtml", "/web/English/index.html"]
    paths += [one.model.list_path("Cooperation", f, p) for f in ("legacy", "web") for p in (1, 2, 3)]
    paths += [p for s in one.model.live_stories("Cooperation")[::5] for p in s.paths.values()]
    for path in paths:
        a, b = one.route(path), two.route(path)
        assert (a.status, a.body, a.headers) == (b.status, b.body, b.headers), path
    assert expected_records(SiteModel(ReplicaConfig())) == expected_records(MODEL)
    assert one.model.fault_paths == two.model.fault_paths and one.model.nodes == two.model.nodes
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
    twins = [s for s in MODEL.stories if s.twin]
    assert len(twins) >= 30
    assert all(2022 <= s.published.year <= 2024 for s in twins)


def test_every_variant_of_site_md_is_served() -> None:
    coop = MODEL.live_stories("Cooperation")
    assert {s.meta_style for s in coop} == {0, 1, 2, 3, 4}
    assert Counter(s.byline_prefix for s in coop if s.byline_name).keys() == {"By", "Edited by"}
    assert any(not s.byline_name for s in coop)
    assert any(s.byline_name == "Staff Reporters" and s.authors for s in coop)
    assert Counter(len(s.authors) for s in coop).keys() >= {0, 1, 2, 3}
    assert {s.author_join for s in coop if len(s.authors) > 1} == {"&", "and"}
    assert any(s.authors == ["Science and Technology Daily"] for s in coop)
    assert any("\u00a0" in s.author for s in coop)  # printed with non-breaking spaces, held without
    assert not any("\u00a0" in n or "  " in n for s in MODEL.stories for n in s.authors)
    assert {s.credit.split(" ")[0] for s in coop if s.credit} >= {"PHOTO:", "COURTESY", "Photo"}
    assert any(s.editor for s in coop) and any(len(s.sections) > 1 for s in coop)
    assert any(not (s.pictures or s.byline_name) for s in coop)
    assert any(s.pictures and not s.caption for s in coop)
    assert Counter(s.layout for s in coop).keys() == {"standard", "alt", "mirror"}
    assert sum(s.encoding == "gbk" for s in coop) == 1
    assert sum(bool(s.moved_from) for s in coop) == 1


# -- the truth -----------------------------------------------------------------------------


def test_the_truth_does_not_import_the_crawlers_helpers() -> None:
    banned = ("stdcrawl.text", "stdcrawl.record", "stdcrawl.extract", "stdcrawl.dedupe")
    for name in ("truth", "model", "prose", "faults", "render", "reply"):
        tree = ast.parse((ROOT / "stdcrawl" / "replica" / f"{name}.py").read_text(encoding="utf-8"))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.startswith(banned)], (name, imported)
    # ... nor through anything they import.
    code = "import sys, stdcrawl.replica.truth; print(sorted(m for m in sys.modules if m.startswith('stdcrawl')))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout.replace("'", '"'))
    assert "stdcrawl.replica.truth" in loaded
    assert not [m for m in loaded if m.startswith(banned)], loaded


def test_the_truth_follows_the_record_contract() -> None:
    schema = json.loads((ROOT / "stdcrawl" / "schema" / "article.schema.json").read_text(encoding="utf-8"))
    records = expected_records(MODEL)
    names = [n for n in records[0] if n != "generation"]
    partial = {"$defs": schema["$defs"], "type": "object", "required": names,
               "properties": {n: schema["properties"][n] for n in names}}
    validator = jsonschema.Draft202012Validator(partial)
    for rec in records:
        validator.validate(rec)
        blocks = [b for s in rec["body"] for b in ([s["heading"]] if s["heading"] else []) + s["paragraphs"]]
        assert rec["text"] == "\n\n".join(blocks)
        assert rec["word_count"] == len(rec["text"].split())  # English bodies: one token, one word
        content = {k: rec[k] for k in ("title", "published_at", "authors", "byline", "body")}
        content["images"] = [[i["caption"], i["credit"]] for i in rec["images"]]
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        assert rec["content_hash"] == "sha256:" + digest.hexdigest()
        for value in [rec["title"], rec["byline"] or "", rec["editor"] or "", *rec["authors"], *blocks]:
            assert value == " ".join(value.split()), value  # clean: no nbsp, no double or edge spaces
    # Picture URLs are not content: the same story on two CMSs has one hash.
    twin = next(r for r in records if r["images"] and r["images"][0]["aliases"])
    moved = [{**i, "url": i["aliases"][0], "aliases": [i["url"]]} for i in twin["images"]]
    assert content_hash({**twin, "images": moved}) == twin["content_hash"]
    assert content_hash({**twin, "title": twin["title"] + "!"}) != twin["content_hash"]
    gbk = next(r for r in records if r["source"] == "科技日报")
    assert gbk["authors"] == ["卢子建"] and gbk["editor"] == "宗诗涵"
    # Words: each Chinese character is one, a token without a letter or digit is none.
    assert count_words("科技日报 reported 3 new labs - ok (PHOTO: XINHUA)") == 4 + 7
    assert count_words("科技日报abc 2024年") == 4 + 1 + 1 + 1


def test_the_truth_reads_the_data_not_the_print() -> None:
    story = next(s for s in MODEL.live_stories("Cooperation") if s.meta_style == 4 and " " in s.authors[0])
    rec = record(MODEL, story)
    assert rec["authors"] == story.authors and "\u00a0" in story.author
    multi = next(s for s in MODEL.live_stories("Cooperation") if len(s.authors) == 3 and s.byline_name)
    rec = record(MODEL, multi)
    assert rec["authors"] == multi.authors and rec["byline"] == multi.byline_name
    assert all(name in rec["byline"] for name in multi.authors)
    square = next(s for s in MODEL.stories if any("0 square" in p for _, ps in s.sections for p in ps))
    page = render.article_page(MODEL, square, square.primary, 1)
    assert "0&nbsp;square" in page or "0?square" in page  # printed with a non-breaking space
    assert any("0 square" in p for s in record(MODEL, square)["body"] for p in s["paragraphs"])


def test_a_faulty_site_has_the_truth_of_the_healed_site() -> None:
    faulty = SiteModel(replace(SMALL, faults=tuple(FAULTS)))
    assert expected_records(faulty) == expected_records(SiteModel(SMALL))
    assert forbidden_urls(faulty) == forbidden_urls(SiteModel(SMALL))


# -- pages print the truth ------------------------------------------------------------------


def test_every_standard_article_page_shows_the_truth_in_reading_order() -> None:
    router = Router(MODEL)
    checked: Counter[str] = Counter()
    for story, generation, path in plain_stories(MODEL):
        status, html, _ = _page(router, path)
        assert status == 200, path
        page = lines(html)
        assert subsequence(article_lines(MODEL, story, generation), page), (path, article_lines(MODEL, story, generation))
        meta = meta_line_of(page, story)
        assert all(name in meta for name in story.authors) and story.source in meta
        assert any(line.startswith("Copyright") and "All Rights Reserved" in line for line in page)
        checked[generation] += 1
    assert checked.keys() == {"G1", "G1b", "G2", "G3"}


def test_alt_and_mirror_pages_still_carry_the_story() -> None:
    router = Router(MODEL)
    for layout in ("alt", "mirror"):
        for story, _, path in plain_stories(MODEL, layout):
            status, html, _ = _page(router, path)
            flat = lambda text: " ".join(text.replace("?", " ").split())  # noqa: E731  mirrors turn nbsp into ?
            page = flat(" ".join(lines(html)))
            assert status == 200 and flat(story.title) in page
            assert all(flat(p) in page for _, ps in story.sections for p in ps), path


def test_the_gbk_page_is_gbk_encoded_with_an_honest_charset() -> None:
    story = next(s for s in MODEL.stories if s.encoding == "gbk")
    reply = Router(MODEL).route(story.paths[story.primary])
    assert reply.status == 200 and reply.content_type.endswith("charset=GBK")
    assert re.search(rb'<meta charset="gbk">|charset=gbk"', reply.body)
    assert "科技日报".encode("gbk") in reply.body and "科技日报".encode() not in reply.body


def test_top_news_changes_between_requests_but_the_article_does_not() -> None:
    router = Router(MODEL)
    story = next(s for s in MODEL.live_stories("Cooperation") if s.layout == "standard" and "G3" in s.paths and not s.flaky)
    first, second = _page(router, story.paths["G3"])[1], _page(router, story.paths["G3"])[1]
    assert first != second
    strip = lambda html: re.sub(r'<aside class="side">.*?</aside>\n', "", html, flags=re.S)  # noqa: E731
    assert strip(first) == strip(second) and strip(first) != first


# -- two CMSs -------------------------------------------------------------------------------


def test_twins_differ_as_two_cmss_and_the_truth_says_which_url_is_which() -> None:
    router = Router(MODEL)
    twins = [s for s in MODEL.live_stories("Cooperation") if s.twin and s.layout == "standard" and s.pictures]
    assert len(twins) >= 10
    for story in twins:
        old, new = _page(router, story.paths["G1b"])[1], _page(router, story.paths["G2"])[1]
        legacy_pic, web_pic = story.pictures["legacy"], story.pictures["web"]
        assert re.fullmatch(rf"/English/WorldNews/{story.published:%Y%m}/W0\d+\.jpg", legacy_pic)
        content_id = story.paths["G2"].rsplit("_", 1)[1].removesuffix(".html")
        assert re.fullmatch(rf"/web/English/pic/{story.published:%Y-%m/%d}/{content_id}_[0-9a-f]+\.jpg", web_pic)
        pics = lambda html: {urlsplit(urljoin(CANONICAL_BASE, s)).path for s in re.findall(r'<img src="([^"]+\.jpg)"', html)}  # noqa: E731
        assert pics(old) == {legacy_pic} and pics(new) == {web_pic}
        truth = record(MODEL, story)
        assert truth["url"] == CANONICAL_BASE + story.paths["G2"] and truth["aliases"] == [CANONICAL_BASE + story.paths["G1b"]]
        assert truth["images"][0]["url"] == CANONICAL_BASE + web_pic
        assert truth["images"][0]["aliases"] == [CANONICAL_BASE + legacy_pic]
        # The same story: title, time, byline and text alike ...
        assert article_lines(MODEL, story, "G1b")[1:] == article_lines(MODEL, story, "G2")[1:]
        assert subsequence(article_lines(MODEL, story, "G1b"), lines(old))
        assert subsequence(article_lines(MODEL, story, "G2"), lines(new))
        # ... in two systems' furniture: navigation, sidebar heading and picks.
        nav = lambda html: html[html.index("<body"): re.search(r'<div class="(?:main|container)', html).start()]  # type: ignore[union-attr]  # noqa: E731
        assert nav(old) != nav(new) and "<ul class=\"nav\">" in nav(old) and "<ul" not in nav(new)
        side_old, side_new = _sidebar(old), _sidebar(new)
        assert side_old[0] != side_new[0]
        assert side_old[1] != side_new[1] and len(side_old[1]) >= 3 and len(side_new[1]) >= 3
    # The legacy sidebar links legacy pages, the /web/ one /web/ pages.
    html = _page(router, twins[0].paths["G1b"])[1]
    assert all(p.startswith("/English/") for p in _sidebar(html)[2] if p.startswith("/"))
    html = _page(router, twins[0].paths["G2"])[1]
    assert all(p.startswith("/web/English/") for p in _sidebar(html)[2] if p.startswith("/"))


def _sidebar(html: str) -> tuple[str, set[str], list[str]]:
    """(heading, linked titles, linked paths) of a standard page's sidebar: a heading, then a list of links."""
    block = re.search(r'<(div class="right"|aside class="side")>(.*?)</(?:div|aside)>\n', html, re.S)
    assert block, "no sidebar"
    text = lines(block[2])
    titles = set(re.findall(r"<a [^>]*>([^<]+)</a>", block[2]))
    return text[0], titles, hrefs(block[2], CANONICAL_BASE + "/")


def test_pictures_are_served_at_each_cms_path() -> None:
    router = Router(MODEL)
    story = next(s for s in MODEL.stories if s.twin and s.pictures)
    for path in story.pictures.values():
        reply = router.route(path)
        assert reply.status == 200 and reply.content_type == "image/jpeg"
        assert reply.body[:2] == b"\xff\xd8" and reply.body[-2:] == b"\xff\xd9" and b"JFIF" in reply.body
    assert router.route(story.pictures["legacy"]).body != router.route(story.pictures["web"]).body
    assert router.route("/web/English/pic/2022-06/09/1890142_0000.jpg").status == 404


# -- markups --------------------------------------------------------------------------------


def _sample(model: SiteModel) -> list[tuple[Story, str]]:
    out, seen = [], set()
    for story in model.live_stories("Cooperation"):
        for generation in story.paths:
            key = (generation, story.layout, story.twin, len(story.sections) > 1, story.byline_first)
            if key not in seen and not story.flaky:
                seen.add(key)
                out.append((story, generation))
    return out


@pytest.mark.parametrize("markup", ["redesign", "renamed"])
def test_other_markups_show_the_same_text_in_classes_no_selector_knows(markup: str) -> None:
    standard, other = SiteModel(SMALL), SiteModel(replace(SMALL, markup=markup))
    banned = selector_names()
    pages: list[tuple[str, str, str]] = []  # (what, standard html, other html)
    for story, generation in _sample(standard):
        twin = next(s for s in other.stories if s.index == story.index)
        pages.append((story.paths[generation], render.article_page(standard, story, generation, 7),
                      render.article_page(other, twin, generation, 7)))
    for family in ("legacy", "web"):
        for page_no in (1, 2):
            pages.append((f"list {family} {page_no}", render.list_page(standard, "Cooperation", family, page_no, 7) or "",
                          render.list_page(other, "Cooperation", family, page_no, 7) or ""))
        pages.append((f"home {family}", render.home_page(standard, family, 7), render.home_page(other, family, 7)))
    special = next(e for e in standard.hostile if e.kind == "special")
    pages.append(("special", render.special_page(standard, special, 7), render.special_page(other, special, 7)))
    assert len(pages) > 20
    for what, std, new in pages:
        assert not class_tokens(new) & banned, (what, class_tokens(new) & banned)
        if markup == "renamed":
            strip = lambda html: re.sub(r'\s(?:class|id)="[^"]*"', "", html)  # noqa: E731
            assert strip(std) == strip(new) and std != new, what
        else:
            assert "<table" not in new, what
    assert sum(bool(class_tokens(std) & banned) for _, std, _ in pages) >= 6  # the standard pages do carry them
    # The redesign keeps the visible text: the story's lines, the list's entries, the navigation.
    for (story, generation), (_, std, new) in zip(_sample(standard), pages, strict=False):
        want = article_lines(standard, story, generation)
        if story.layout == "standard":
            assert subsequence(want, lines(std)) and subsequence(want, lines(new)), story.paths[generation]
            assert meta_line_of(lines(std), story) == meta_line_of(lines(new), story)
        elif story.layout == "alt" and markup == "redesign":
            assert subsequence(want, lines(new))  # an alt story too, once everything is redesigned
    for what, std, new in pages:
        if what.startswith(("list", "home")):
            titles = [line for line in lines(std) if any(line == s.title for s in standard.stories)]
            assert titles and subsequence(titles, lines(new)), what
            assert {s.name for s in render.CHANNEL_SPECS} <= set(re.findall(r"<a [^>]*>([^<]+)</a>", new)), what
        if what.startswith("list"):
            crumb = next(line for line in lines(std) if "EnglishChannel" in line)
            assert crumb in lines(new)


def test_drift_markup_is_the_redesign_and_drift_meta_drops_the_meta_line() -> None:
    redesign = SiteModel(replace(SMALL, drift="markup"))
    assert redesign.config.page_markup == "redesign"
    story = next(s for s in redesign.live_stories("Cooperation") if "G3" in s.paths and s.layout == "standard" and not s.flaky)
    html = render.article_page(redesign, story, "G3", 1)
    assert html == render.article_page(SiteModel(replace(SMALL, markup="redesign")), story, "G3", 1)
    assert not class_tokens(html) & selector_names()
    meta = SiteModel(replace(SMALL, drift="meta"))
    story = next(s for s in meta.live_stories("Cooperation") if "G3" in s.paths and not s.flaky)
    page = lines(render.article_page(meta, story, "G3", 1))
    assert story.title in page and not [line for line in page if line.startswith("Source")]


# -- redirects, lists -----------------------------------------------------------------------


def test_the_moved_story_answers_301_to_its_real_url_on_the_live_host() -> None:
    router = Router(MODEL)
    (old, story), = MODEL.moved.items()
    assert parse_article_url(CANONICAL_BASE + old).generation.value == "G3"  # type: ignore[union-attr]
    reply = router.route(old)
    assert reply.status == 301 and reply.header("Location") == CANONICAL_BASE + story.paths["G3"]
    assert router.route(story.paths["G3"]).status == 200
    listed = [e.path for e in MODEL.list_entries("Cooperation", "web")]
    assert old in listed and story.paths["G3"] not in listed
    truth = record(MODEL, story)
    assert truth["url"] == CANONICAL_BASE + story.paths["G3"] and truth["aliases"] == [CANONICAL_BASE + old]
    assert CANONICAL_BASE + old not in forbidden_urls(MODEL)


@pytest.mark.parametrize("config", [ReplicaConfig(), SMALL], ids=["default", "60 articles"])
def test_lists_page_deeper_than_three_pages_and_hold_every_live_story(config: ReplicaConfig) -> None:
    model = SiteModel(config)
    router = Router(model)
    for family, generations in (("legacy", {"G1", "G1b"}), ("web", {"G2", "G3"})):
        count = len(model.pages("Cooperation", family))
        assert count > 3, (family, count)
        listed: list[str] = []
        entries: list[str] = []
        for page_no in range(1, count + 1):
            path = model.list_path("Cooperation", family, page_no)
            status, html, _ = _page(router, path)
            assert status == 200
            links = hrefs(html, CANONICAL_BASE + path)
            others = {model.list_path("Cooperation", family, p) for p in range(1, count + 1)} - {path}
            assert others <= set(links), "the pager links every other page"
            listed += links
            entries += hrefs(list_region(html), CANONICAL_BASE + path)
        assert router.route(model.list_path("Cooperation", family, count + 1)).status == 404
        want = {s.moved_from if (g == "G3" and s.moved_from) else p
                for s in model.live_stories("Cooperation") for g, p in s.paths.items() if g in generations}
        assert want <= set(listed)
        dates = [parse_article_url(CANONICAL_BASE + p).date for p in entries  # type: ignore[union-attr]
                 if parse_article_url(CANONICAL_BASE + p)]
        assert len(dates) > 20 and sum(a < b for a, b in zip(dates, dates[1:], strict=False)) <= 3  # newest first, bar a few
    kinds = Counter(e.kind for e in model.hostile)
    assert kinds == {"missing": 1, "broken": 1, "special": 1, "topic": 1, "cross": 1, "offsite": 3}


def test_hostile_pages_answer_as_planned() -> None:
    router = Router(MODEL)
    by_kind = {e.kind: e for e in MODEL.hostile}
    assert router.route(by_kind["missing"].path).status == 404
    assert [router.route(by_kind["broken"].path).status for _ in range(4)] == [500] * 4
    flaky = next(s for s in MODEL.stories if s.flaky)
    path = flaky.paths[flaky.primary]
    assert [router.route(path).status for _ in range(4)] == [503, 503, 200, 200]
    status, html, _ = _page(router, by_kind["special"].path)
    assert status == 200 and not [line for line in lines(html) if line.startswith("Source:")]
    robots = router.route("/robots.txt").body.decode()
    assert all(f"Disallow: {p}" in robots for p in MODEL.robots_paths()) and MODEL.robots_paths()


def test_pages_link_the_site_every_way_and_link_spam_hosts() -> None:
    router = Router(MODEL)
    html = "".join(_page(router, MODEL.list_path("Cooperation", f, p))[1] for f in ("legacy", "web") for p in (1, 2, 3))
    for prefix in ('href="/', 'href="https://www.stdaily.com/', 'href="http://stdaily.com/', 'href="https://m.stdaily.com/',
                   'href="http://www.stdaily.com/'):
        assert prefix in html, prefix
    assert ".example/" in html


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
    for story in removed + edited:
        for epoch in [story.removed_epoch or 0] + [when for when, _ in story.edits]:
            if epoch:
                assert later.today_at(epoch) - story.published.date() <= dt.timedelta(days=2)
    router = Router(later)
    for story in removed:
        assert all(router.route(p).status == 404 for p in story.paths.values())
        assert CANONICAL_BASE + story.paths[story.primary] in forbidden_urls(later)
    path = later.list_path("Cooperation", "web")
    links = [p for p in hrefs(_page(router, path)[1], CANONICAL_BASE + path) if parse_article_url(CANONICAL_BASE + p)]
    assert set(links[:4]) <= {s.paths["G3"] for s in new if s.added_epoch == 2}


# -- faults ---------------------------------------------------------------------------------


def test_every_fault_is_described_with_its_healing_rule_and_hits_something() -> None:
    model = SiteModel(replace(SMALL, faults=tuple(FAULTS)))
    for name, spec in CATALOGUE.items():
        assert FAULTS[name] == spec.description and len(spec.description) < 160
        assert ("transient" in spec.description) == spec.transient and ("permanent" in spec.description) != spec.transient
    hit = set(model.fault_paths.values())
    # One robots.txt: the bomb hides the other two, which still shape its rules.
    assert set(FAULTS) - hit == {"robots-oversize", "robots-channel"}
    for path, fault in model.faulty.items():
        story, generation = model.by_path[path]
        if CATALOGUE[fault].target == "twin":
            assert generation == "G1b" and story.twin
        else:
            assert story.channel == "Cooperation" and generation in ("G2", "G3") and not story.twin
        if CATALOGUE[fault].chinese:
            assert story.editor is not None and re.search(r"[\u4e00-\u9fff]", story.editor)


# How each fault heals, as docs/site.md states it: bad answers before the page, None: never.
HEALS: dict[str, int | None] = {
    "5xx": 2, "5xx-retry-after": 2, "429": 1, "reset": 2, "stall": 1, "short": 2, "truncated": 2, "empty": 2,
    "soft404": 2, "partial": 2, "list-empty": 2, "list-no-entries": 2,
} | {f: None for f in (
    "charset", "malformed", "oversize", "gzip-bomb", "redirect-loop", "redirect-offsite", "redirect-seen",
    "meta-refresh", "huge-title", "hostile-token", "hostile-paragraphs", "hostile-links", "huge-headers",
    "charset-gbk-as-utf8", "charset-utf8-as-gbk", "twin-redirect", "twin-500", "list-oversize", "list-404",
    "list-redirect-home", "list-500", "list-repeat-last", "robots-channel", "robots-oversize", "robots-bomb",
    "nested-divs",
)}


def test_the_catalogue_heals_as_documented() -> None:
    assert {name: spec.heals_after for name, spec in CATALOGUE.items()} == HEALS


def _faulty(fault: str, **config: Any) -> tuple[Router, str]:
    model = SiteModel(replace(SMALL, faults=(fault,), fault_pages=1, **config))
    path = next(p for p, f in model.fault_paths.items() if f == fault)
    return Router(model), path


def _heals(router: Router, path: str, fault: str, first_bad: Any) -> None:
    """Transient faults serve the real page after heals_after bad answers; permanent ones never do."""
    heals = HEALS[fault]
    answers = [first_bad] + [router.route(path) for _ in range((heals or 3) + 1)]
    like = lambda a, b: (a.status, [h for h, _ in a.headers]) == (b.status, [h for h, _ in b.headers]) and abs(len(a.body) - len(b.body)) <= max(  # noqa: E731
        len(b.body) // 10, 500)
    bad = answers[:heals] if heals else answers
    assert all(like(a, first_bad) for a in bad), fault
    if heals:
        healed = answers[heals:]
        assert all(a.status == 200 and not a.headers and len(a.body) > 2000 for a in healed), fault
        assert not like(healed[0], first_bad) or fault == "list-no-entries"
        if fault == "list-no-entries":
            assert lines(list_region(healed[0].body.decode()))


@pytest.mark.parametrize("fault", [f for f, s in CATALOGUE.items() if s.target == "list"])
def test_list_faults_answer_as_described_and_heal_as_described(fault: str) -> None:
    router, path = _faulty(fault)
    model = router.model
    family = model.config.fault_list_family
    count = len(model.pages("Cooperation", family))
    if fault == "list-repeat-last":
        assert path == model.list_path("Cooperation", family, count + 1)
    else:
        assert path == model.list_path("Cooperation", family, model.config.fault_list_page)
    reply = router.route(path)
    html = reply.body.decode()
    base = CANONICAL_BASE + path
    articles = [p for p in hrefs(html, base) if parse_article_url(CANONICAL_BASE + p)]
    if fault == "list-empty":
        assert reply.status == 200 and reply.body == b""
    elif fault == "list-no-entries":
        assert reply.status == 200 and "EnglishChannel" in html and articles == []
        assert model.list_path("Cooperation", family, 2) in hrefs(html, base)  # the pager is still there
    elif fault == "list-oversize":
        assert reply.status == 200 and len(reply.body) > 2 * 1024 * 1024 and len(articles) >= 5
    elif fault == "list-404":
        assert reply.status == 404
    elif fault == "list-redirect-home":
        assert reply.status == 302 and reply.header("Location") == render.HOMES[family]
    elif fault == "list-500":
        assert reply.status == 500
    elif fault == "list-repeat-last":
        last = _page(router, model.list_path("Cooperation", family, count))[1]
        entries = lambda h: lines(list_region(h))  # noqa: E731
        assert reply.status == 200 and entries(html) == entries(last) and entries(last)
        assert router.route(model.list_path("Cooperation", family, count + 7)).status == 200
        assert Router(SiteModel(SMALL)).route(path).status == 404
    _heals(router, path, fault, reply)
    # Only that page: the page before it is whole.
    assert router.route(model.list_path("Cooperation", family, 1)).status == 200


def test_several_list_faults_take_a_page_each() -> None:
    list_faults = tuple(f for f, s in CATALOGUE.items() if s.target == "list")
    model = SiteModel(replace(SMALL, faults=list_faults, fault_list_family="legacy"))
    hit = {p: f for p, f in model.fault_paths.items() if f in list_faults}
    assert sorted(hit.values()) == sorted(list_faults)
    assert hit[model.list_path("Cooperation", "legacy", 3)] == list_faults[0]
    assert all(not p.endswith(("node_%s.html" % model.nodes["Cooperation"], "common_list.shtml")) for p in hit)


@pytest.mark.parametrize("fault", ["twin-redirect", "twin-500"])
def test_twin_faults_hit_the_g1b_page_of_every_twin(fault: str) -> None:
    model = SiteModel(replace(SMALL, faults=(fault,)))
    router = Router(model)
    twins = [s for s in model.live_stories() if s.twin]
    assert twins and {model.faulty[s.paths["G1b"]] for s in twins} == {fault}
    for story in twins:
        answers = [router.route(story.paths["G1b"]) for _ in range(3)]
        if fault == "twin-redirect":
            assert {(a.status, a.header("Location")) for a in answers} == {(301, story.paths["G2"])}
        else:
            assert {a.status for a in answers} == {500}
        assert router.route(story.paths["G2"]).status == 200
    both = SiteModel(replace(SMALL, faults=("twin-redirect", "twin-500")))
    assert Counter(both.faulty.values()).keys() == {"twin-redirect", "twin-500"}


NEW_ARTICLE_FAULTS = ["redirect-seen", "meta-refresh", "partial", "huge-title", "hostile-token", "hostile-paragraphs",
                      "hostile-links", "charset-gbk-as-utf8", "charset-utf8-as-gbk"]


@pytest.mark.parametrize("fault", NEW_ARTICLE_FAULTS)
def test_article_faults_answer_as_described_and_heal_as_described(fault: str) -> None:
    router, path = _faulty(fault)
    model = router.model
    story, _ = model.by_path[path]
    reply = router.route(path)
    body = reply.body
    mib = 1024 * 1024
    if fault in ("redirect-seen", "meta-refresh"):
        target = model.fault_targets[path]
        web = [e.path for e in model.list_entries("Cooperation", "web")]
        assert web.index(target) < web.index(path), "a crawler walking newest first met it already"
        assert target not in model.fault_paths and router.route(target).status == 200
        if fault == "redirect-seen":
            location = urlsplit(reply.header("Location") or "")
            assert reply.status == 302 and location.hostname in SITE_HOSTS and location.path == target
        else:
            assert reply.status == 200 and lines(body) == []
            assert re.fullmatch(rb'<html><head><meta http-equiv="refresh" content="0; url=https://www.stdaily.com'
                                + re.escape(target.encode()) + rb'"></head><body></body></html>', body)
    elif fault == "partial":
        total = int((reply.header("Content-Range") or "").rsplit("/", 1)[1])
        assert reply.status == 206 and len(body) == total // 2
        assert reply.header("Content-Range") == f"bytes 0-{len(body) - 1}/{total}"
        assert body.startswith(b"<!DOCTYPE html>")
    elif fault == "huge-title":
        headline = re.search(rb'<h2 class="detail-title">([^<]*)</h2>', body)
        assert reply.status == 200 and headline and len(headline[1]) >= mib
    elif fault == "hostile-token":
        token = max(re.findall(rb"<p>([^<]*)</p>", body), key=len)
        assert len(token) >= 2 * mib and not re.search(rb"\s", token)
        assert all(token[i] == ord("?") for i in range(59, len(token), 60)) and token[:59].isalpha()
    elif fault == "hostile-paragraphs":
        tail = body.split(b'<div class="detail-content">', 1)[1].split(b"</div>", 1)[1]
        tiny = re.findall(rb"<p>([^<]{1,2})</p>", tail)
        assert len(tiny) >= 200_000 and len(tail) >= 2 * mib
    elif fault == "hostile-links":
        tail = body.split(b'<div class="detail-content">', 1)[1].split(b"</div>", 1)[1]
        assert len(re.findall(rb"\n<p><a href=", b"\n" + tail)) >= 10_000
    elif fault == "charset-gbk-as-utf8":
        assert reply.content_type == "text/html; charset=UTF-8" and b'<meta charset="gbk">' in body
        assert story.editor is not None and story.editor.encode("gbk") in body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    elif fault == "charset-utf8-as-gbk":
        assert reply.content_type == "text/html" and b'<meta charset="gbk">' in body
        assert story.editor is not None and story.editor.encode("utf-8") in body
    if fault.startswith(("hostile", "huge-title")):
        # The story is all there: the fault adds to a whole page.
        lead = story.sections[0][1][0]
        assert reply.status == 200 and escape(lead, quote=False).encode() in body
    _heals(router, path, fault, reply)


def test_bytes_on_the_wire_partial_huge_headers_and_a_client_that_hangs_up() -> None:
    config = replace(SMALL, faults=("partial", "huge-headers"), fault_pages=1, header_mb=2)
    with ReplicaServer(config) as server:
        partial = next(p for p, f in server.model.faulty.items() if f == "partial")
        huge = next(p for p, f in server.model.faulty.items() if f == "huge-headers")
        conn = http.client.HTTPConnection("127.0.0.1", int(server.netloc.rsplit(":", 1)[1]), timeout=10)
        conn.request("GET", partial)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 206 and int(response.headers["Content-Length"]) == len(body) > 1000
        conn.close()
        host, port = server.netloc.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET {huge} HTTP/1.1\r\nHost: {server.netloc}\r\nConnection: close\r\n\r\n".encode())
            data = bytearray()
            while chunk := sock.recv(1 << 16):
                data += chunk
        head, _, page = bytes(data).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and 2 * 1024 * 1024 <= len(head) < 2.1 * 1024 * 1024
        assert head.count(b"\r\nX-Padding-") >= 250 and b"\r\nContent-Length: " in head
        assert len(page) == int(re.search(rb"\r\nContent-Length: (\d+)", head)[1])  # type: ignore[index]
        # A crawler cuts the connection after a few KB: the replica stops streaming and serves on.
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET {huge} HTTP/1.1\r\nHost: {server.netloc}\r\n\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with urllib.request.urlopen(server.url + "/robots.txt", timeout=10) as response:
            assert response.status == 200


def test_robots_faults_keep_their_rules_first() -> None:
    router, _ = _faulty("robots-oversize")
    body = router.route("/robots.txt").body
    forbidden = router.model.robots_paths()[0]
    assert len(body) > 600 * 1024 and f"Disallow: {forbidden}\n".encode() in body[: 10 * 1024]
    router, _ = _faulty("robots-bomb")
    reply = router.route("/robots.txt")
    assert reply.header("Content-Encoding") == "gzip" and len(reply.body) < 1024 * 1024
    inflate = zlib.decompressobj(wbits=31)
    head = inflate.decompress(reply.body, 4096)
    assert head.startswith(b"User-agent: *\n") and f"Disallow: {forbidden}\n".encode() in head
    size, rest = len(head), inflate.unconsumed_tail
    while rest:
        size += len(inflate.decompress(rest, 1 << 24))
        rest = inflate.unconsumed_tail
    assert size >= 256 * 1024 * 1024


def test_bad_config_values_are_one_line_errors() -> None:
    for bad in ({"markup": "fancy"}, {"faults": ("nope",)}, {"fault_list_family": "gopher"}, {"articles": 0}):
        with pytest.raises(ValueError, match=r"^bad replica config: [^\n]+$"):
            ReplicaConfig(**bad)  # type: ignore[arg-type]
    proc = subprocess.run([sys.executable, "-m", "stdcrawl", "replica", "truth", "--faults", "5xx,nope", "-o", "-"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "nope" in proc.stderr and "Traceback" not in proc.stderr


# -- the server and the commands ------------------------------------------------------------


def test_server_serves_on_loopback_logs_requests_and_refuses_to_proxy() -> None:
    with ReplicaServer(ReplicaConfig(articles=20, faults=("list-404",))) as server:
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
        with urllib.request.urlopen(server.url + "/_replica/info") as response:
            info_data = json.loads(response.read())
        assert list(info_data["faults"].values()) == ["list-404"]
        assert [(r["target"], r["status"]) for r in log] == [
            ("/web/English/index.html", 200),
            ("/no/such/page.html", 404),
            ("http://www.stdaily-news.example/English/index.shtml", 502),
        ]


def test_replica_serve_command_prints_its_url_and_serves_the_markup_asked_for() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stdcrawl", "replica", "serve", "--articles", "15", "--seed", "3", "--markup", "renamed"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        with urllib.request.urlopen(url.group(0) + "/robots.txt") as response:
            assert b"User-agent: *" in response.read()
        with urllib.request.urlopen(url.group(0) + "/web/English/index.html") as response:
            html = response.read().decode()
        assert "Cooperation" in html and not class_tokens(html) & {"menu", "site-header", "side"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_truth_command_writes_the_expected_records(tmp_path: Path) -> None:
    out = tmp_path / "truth.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "stdcrawl", "replica", "truth", "--articles", "40", "--markup", "redesign",
         "--faults", "all", "-o", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records == json.loads(json.dumps(expected_records(SiteModel(ReplicaConfig(articles=40)))))


def test_docs_describe_every_option_and_fault() -> None:
    docs = (ROOT / "docs" / "site.md").read_text(encoding="utf-8")
    for name in FAULTS:
        assert f"| `{name}` |" in docs, name
    for f in fields(ReplicaConfig):
        assert f"`{f.name}`" in docs, f.name


def test_a_caching_router_still_lets_transient_faults_heal() -> None:
    model = SiteModel(replace(SMALL, faults=("empty",), fault_pages=1))
    router = Router(model, cache=True)
    path = next(iter(model.faulty))
    assert [len(router.route(path).body) > 0 for _ in range(4)] == [False, False, True, True]
    home = router.route("/web/English/index.html")
    assert router.route("/web/English/index.html") is home  # cached: rendered once
