"""The replica's ground truth: the record a correct crawl exports for each story.

Computed from the same model the pages are rendered from, never by parsing a
page, so it can judge the extractor. Crawl-time fields (``fetched_url``,
``crawled_at``) and the parser path are not part of it; ``generation`` says
which generation the record's URL belongs to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stdcrawl.record import Image, Section, body_text, content_hash
from stdcrawl.replica.model import SiteModel, Story
from stdcrawl.text import clean_text, count_words, split_names
from stdcrawl.urls import CANONICAL_BASE, parse_article_url

# Fields a crawl fills in at run time; they cannot be known in advance.
RUNTIME_FIELDS = ("fetched_url", "crawled_at", "parser")


def _image(story: Story) -> list[Image]:
    if not story.image and not story.caption:
        return []
    return [
        {
            "url": CANONICAL_BASE + story.image if story.image else None,
            "caption": clean_text(story.caption) or None,
            "credit": clean_text(story.credit) or None,
            "aliases": [],
        }
    ]


def record(model: SiteModel, story: Story) -> dict[str, Any]:
    """The expected record of one story at the model's epoch."""
    body: list[Section] = [
        {"heading": clean_text(heading) or None, "paragraphs": [clean_text(p) for p in paragraphs]}
        for heading, paragraphs in story.sections_at(model.epoch)
    ]
    byline = story.byline
    for prefix in ("Edited by ", "By "):
        if byline and byline.startswith(prefix):
            byline = byline.removeprefix(prefix)
    fields: dict[str, Any] = {
        "title": clean_text(story.title),
        "published_at": story.published.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "source": clean_text(story.source) or None,
        "authors": split_names(story.author),
        "byline": clean_text(byline) or None,
        "editor": clean_text(story.editor) or None,
        "images": _image(story),
        "body": body,
    }
    url = CANONICAL_BASE + story.paths[story.primary]
    parsed = parse_article_url(url)
    assert parsed is not None, url
    text = body_text(body)
    return {
        "id": parsed.id,
        "url": url,
        "aliases": [CANONICAL_BASE + p for g, p in story.paths.items() if g != story.primary],
        "channel": story.channel,
        "section_label": story.section_label(),
        **fields,
        "summary": clean_text(story.summary),
        "text": text,
        "word_count": count_words(text),
        "language": "en",
        "content_hash": content_hash(fields),
        "generation": story.primary,
    }


def expected_records(model: SiteModel, channel: str = "Cooperation") -> list[dict[str, Any]]:
    """Every record a full crawl of ``channel`` must export, newest first.

    Stories disallowed by robots.txt are not among them: a polite crawler never
    fetches them.
    """
    stories = [s for s in model.live_stories(channel) if not s.robots]
    stories.sort(key=lambda s: s.published, reverse=True)
    return [record(model, s) for s in stories]


def forbidden_urls(model: SiteModel, channel: str = "Cooperation") -> dict[str, str]:
    """URLs a crawl of ``channel`` must never export, with the reason."""
    out = {CANONICAL_BASE + e.path: e.kind for e in model.hostile if e.kind != "offsite"}
    for story in model.stories:
        for path in story.paths.values():
            if story.channel != channel:
                out[CANONICAL_BASE + path] = "other channel"
            elif story.robots:
                out[CANONICAL_BASE + path] = "robots.txt"
            elif not story.alive(model.epoch):
                out[CANONICAL_BASE + path] = "removed"
    return out


@dataclass(slots=True)
class Comparison:
    """How exported records differ from the ground truth."""

    expected: int
    exported: int
    missing: list[str] = field(default_factory=list)  # expected ids not exported
    unexpected: list[str] = field(default_factory=list)  # exported ids not expected
    duplicates: list[str] = field(default_factory=list)  # ids exported more than once
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (id, field)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.duplicates or self.mismatches)

    def summary(self) -> str:
        if self.ok:
            return f"{self.exported} of {self.expected} expected articles, every field equal"
        return (
            f"{self.exported} exported, {self.expected} expected: {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.duplicates)} duplicated, "
            f"{len(self.mismatches)} field mismatches (first: {self.mismatches[:3]})"
        )


def compare(records: list[dict[str, Any]], expected: list[dict[str, Any]]) -> Comparison:
    """Compare exported records with :func:`expected_records`, field by field."""
    truth = {r["id"]: r for r in expected}
    counts = Counter(r["id"] for r in records)
    result = Comparison(
        expected=len(truth),
        exported=len(records),
        missing=sorted(set(truth) - set(counts)),
        unexpected=sorted(set(counts) - set(truth)),
        duplicates=sorted(i for i, n in counts.items() if n > 1),
    )
    for rec in records:
        want = truth.get(rec["id"])
        if want is None:
            continue
        for name, value in want.items():
            got = rec.get("parser", "").split("/", 1)[0] if name == "generation" else rec.get(name)
            if got != value:
                result.mismatches.append((rec["id"], name))
    return result
