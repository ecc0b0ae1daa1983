"""Saved pages and their golden JSON.

    python tests/goldens.py              rewrite every golden from the current extractor
    python tests/goldens.py --snapshot   first re-render the replica's sample pages and their truth

A golden is what the extractor made of a saved page, reviewed in the diff of
the commit that changes it; never typed by hand. Pages come from three places
(``index.json`` says which): the replica (one page per variant, saved with the
replica's ground truth beside it, ``<name>.truth.json``), the hand-built page
around ``seed-article.txt``, and ``foreign/``: pages in markups stdcrawl has
never seen, each with a hand-written ``.expected.json`` (see test_extract_pages).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stdcrawl.extract import NotAnArticle, extract_article, extract_listing
from stdcrawl.replica import render
from stdcrawl.replica.model import ReplicaConfig, SiteModel, Story
from stdcrawl.replica.truth import record
from stdcrawl.urls import CANONICAL_BASE

PAGES = Path(__file__).parent / "pages"
INDEX = PAGES / "index.json"

Pick = Callable[[Story, str], bool]

# One replica page per variant docs/site.md describes: (name, description, which story and generation).
SAMPLES: list[tuple[str, str, Pick]] = [
    ("g1-2021", "G1 legacy page of 2021, breadcrumb 'International Cooperation'", lambda s, g: g == "G1" and s.layout == "standard" and s.caption is not None),
    ("g1b-legacy", "G1b hash URL, legacy template", lambda s, g: g == "G1b" and "G2" not in s.paths and s.layout == "standard"),
    ("twin-g1b", "a story published twice: its G1b page", lambda s, g: g == "G1b" and "G2" in s.paths and s.layout == "standard" and s.byline is not None),
    ("twin-g2", "the same story: its G2 page", lambda s, g: g == "G2" and "G1b" in s.paths and s.layout == "standard" and s.byline is not None),
    ("g2-web", "G2 content_19xxxxx page, /web/ template", lambda s, g: g == "G2" and "G1b" not in s.paths and s.layout == "standard"),
    ("g3-web-headings", "G3 page with sub-headings (h3 and strong)", lambda s, g: g == "G3" and s.layout == "standard" and len(s.sections) > 1 and s.index % 2 == 1),
    ("alt-legacy", "a redesign no selector knows (legacy URL): sidebar first, meta over three lines", lambda s, g: g in ("G1", "G1b") and s.layout == "alt"),
    ("alt-web-headings", "the redesign on a /web/ URL, sub-headings as plain lines", lambda s, g: g in ("G2", "G3") and s.layout == "alt" and len(s.sections) > 1),
    ("mirror-legacy", "spam-mirror damage on a legacy page: junk line, decoys, ? for nbsp", lambda s, g: g == "G1" and s.layout == "mirror"),
    ("mirror-web", "spam-mirror damage on a /web/ page", lambda s, g: g in ("G2", "G3") and s.layout == "mirror"),
    ("gbk", "GBK-encoded page, Chinese source, author and editor", lambda s, g: s.encoding == "gbk"),
    ("meta-no-spaces", "meta line 'Source:X | date | Author:Y'", lambda s, g: s.meta_style == 1 and s.layout == "standard"),
    ("meta-empty", "meta line with empty Source and Author", lambda s, g: s.meta_style == 2 and s.layout == "standard"),
    ("meta-author-sntdaily", "Author: Science and Technology Daily, empty Source", lambda s, g: s.meta_style == 3 and s.layout == "standard"),
    ("meta-nbsp-author", "non-breaking space inside the author's name", lambda s, g: s.meta_style == 4 and s.layout == "standard"),
    ("byline-staff", "byline 'By Staff Reporters' differing from the meta Author", lambda s, g: s.byline == "By Staff Reporters" and bool(s.author) and s.layout == "standard"),
    ("byline-two", "byline and Author with two names joined by &", lambda s, g: s.byline is not None and " & " in s.byline and s.layout == "standard"),
    ("byline-edited", "'Edited by' byline", lambda s, g: (s.byline or "").startswith("Edited by") and s.layout == "standard"),
    ("byline-first", "byline printed above the lead picture and caption", lambda s, g: s.byline is not None and s.byline_first and s.caption is not None and s.layout == "standard"),
    ("byline-office", "byline 'By The Editorial Office'", lambda s, g: s.byline == "By The Editorial Office" and s.layout == "standard"),
    ("credit-courtesy", "caption credit (COURTESY PHOTO)", lambda s, g: s.credit == "COURTESY PHOTO" and s.layout == "standard"),
    ("credit-provided", "caption credit (Photo provided by ...)", lambda s, g: (s.credit or "").startswith("Photo provided") and s.layout == "standard"),
    ("credit-sntdaily", "caption credit (PHOTO: S&T Daily)", lambda s, g: s.credit == "PHOTO: S&T Daily" and s.layout == "standard"),
    ("editor-line", "Editor line in Chinese script", lambda s, g: s.editor is not None and s.encoding == "utf-8" and s.layout == "standard"),
    ("bare", "neither picture, caption nor byline", lambda s, g: not (s.image or s.caption or s.byline) and s.layout == "standard"),
    ("picture-no-caption", "a lead picture without a caption", lambda s, g: s.image is not None and s.caption is None and s.layout == "standard"),
]


def snapshot(model: SiteModel) -> list[dict[str, Any]]:
    """Render the sample pages and their truth into PAGES; return their index entries."""
    entries = []
    taken: set[int] = set()
    for name, description, pick in SAMPLES:
        story, generation = next(
            (s, g) for s in model.stories for g in s.paths if s.channel == "Cooperation" and s.index not in taken and pick(s, g)
        )
        if not name.startswith("twin"):
            taken.add(story.index)
        html = render.article_page(model, story, generation, request_no=1)
        (PAGES / f"{name}.html").write_bytes(html.encode(story.encoding, errors="xmlcharrefreplace"))
        # The story's record, as read from this one page: its URL and generation, no list summary.
        truth = {k: v for k, v in record(model, story).items() if k not in ("id", "url", "aliases", "summary")}
        truth["generation"] = generation
        _write_json(PAGES / f"{name}.truth.json", truth)
        url = CANONICAL_BASE + story.paths[generation]
        entries.append({"name": name, "url": url, "kind": "article", "origin": "replica", "description": description})
    special = next(e for e in model.hostile if e.kind == "special")
    (PAGES / "special-topic.html").write_text(render.special_page(model, special, 1), encoding="utf-8")
    entries.append({"name": "special-topic", "url": CANONICAL_BASE + special.path, "kind": "not_article", "origin": "replica",
                    "description": "a special-topic page at an article-shaped URL"})
    for family in ("legacy", "web"):
        path = render.channel_list_path(model, "Cooperation", family)
        (PAGES / f"list-{family}.html").write_text(render.list_page(model, "Cooperation", family, 1, 1) or "", encoding="utf-8")
        entries.append({"name": f"list-{family}", "url": CANONICAL_BASE + path, "kind": "listing", "origin": "replica",
                        "description": f"first page of the Cooperation {family} list, with off-site and special links"})
    return entries


def golden(entry: dict[str, Any]) -> dict[str, Any]:
    """What the extractor makes of one saved page."""
    html = (PAGES / f"{entry['name']}.html").read_bytes()
    if entry["kind"] == "listing":
        return asdict(extract_listing(html, entry["url"]))
    try:
        return extract_article(html, entry["url"]).to_dict()
    except NotAnArticle as exc:
        return {"not_article": str(exc)}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_index() -> list[dict[str, Any]]:
    return json.loads(INDEX.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshot", action="store_true", help="re-render the replica's sample pages and their truth first")
    args = parser.parse_args(argv)
    index = load_index() if INDEX.exists() else []
    if args.snapshot:
        index = [e for e in index if e["origin"] != "replica"] + snapshot(SiteModel(ReplicaConfig()))
        _write_json(INDEX, sorted(index, key=lambda e: e["name"]))
    for entry in index:
        _write_json(PAGES / f"{entry['name']}.json", golden(entry))
    print(f"{len(index)} goldens written to {PAGES}; review them with `git diff {PAGES}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
