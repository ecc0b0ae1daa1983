"""The replica's ground truth: the record a correct crawl exports for each story.

Read from the model's data (the story's true title, names, byline name,
caption, paragraphs), never from a page and never through the crawler's own
helpers: the record contract is implemented here, from the definitions in
``stdcrawl/schema/article.schema.json`` and the README, so that a bug in the
crawler's text cleaning, name splitting, word counting or hashing cannot pass
against its own truth. Only the URL shapes (ids and the canonical base) come
from :mod:`stdcrawl.urls`.

- ``text``: the headings and paragraphs, in order, joined by blank lines.
- ``word_count``: whitespace-separated tokens holding a letter or digit; each
  Chinese character counts as one.
- ``content_hash``: ``"sha256:"`` + SHA-256 of the UTF-8 canonical JSON
  (sorted keys, no spaces, non-ASCII kept) of title, published_at, authors,
  byline, images as ``[[caption, credit], ...]`` and body: the story's own
  content, not its URLs, its pictures' URLs, summary, sidebar or template.
- ``url``: the newest generation's page (G2 over its G1b twin; a moved story's
  new page); ``aliases``: the story's other URLs (the G1b twin, the old URL
  that redirects). Each picture's ``url`` is its copy on the record's page's
  CMS and its ``aliases`` the other CMS's copy.

Crawl-time fields (``fetched_url``, ``crawled_at``, ``parser``, provenance,
revisions) are not part of it; ``generation`` says which generation the
record's URL belongs to (``compare`` checks it against the parser path).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stdcrawl.replica.model import SiteModel, Story, gen_family
from stdcrawl.urls import CANONICAL_BASE, parse_article_url

# Fields a crawl fills in at run time; they cannot be known in advance.


def is_cjk(char: str) -> bool:
    """A Chinese (CJK unified or compatibility) ideograph."""
    code = ord(char)
    return 0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3FFFF


def count_words(text: str) -> int:
    """Whitespace-separated tokens holding a letter or digit; each Chinese character counts as one."""
    count = 0
    for token in text.split():
        run = ""  # the part of the token between Chinese characters
        for char in token + " ":
            if is_cjk(char) or char == " ":
                count += any(c.isalnum() for c in run) + is_cjk(char)
                run = ""
            else:
                run += char
    return count


def body_text(body: list[dict[str, Any]]) -> str:
    """Headings and paragraphs, in reading order, separated by blank lines."""
    blocks: list[str] = []
    for section in body:
        if section["heading"]:
            blocks.append(section["heading"])
        blocks += section["paragraphs"]
    return "\n\n".join(blocks)


def content_hash(fields: dict[str, Any]) -> str:
    """The story's identity: a hash of its own content, canonical JSON, UTF-8."""
    content = {
        "title": fields["title"],
        "published_at": fields["published_at"],
        "authors": fields["authors"],
        "byline": fields["byline"],
        "images": [[image["caption"], image["credit"]] for image in fields["images"]],
        "body": [{"heading": s["heading"], "paragraphs": s["paragraphs"]} for s in fields["body"]],
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def language(text: str) -> str:
    """zh when most of the letters are Chinese characters, else en."""
    letters = [c for c in text if c.isalpha()]
    return "zh" if letters and sum(map(is_cjk, letters)) * 2 > len(letters) else "en"


def images(story: Story) -> list[dict[str, Any]]:
    """The lead picture: its copy on the record page's CMS, the other CMS's copy as its alias."""
    if not story.pictures and not story.caption:
        return []
    home = gen_family(story.primary)
    url = story.pictures.get(home)
    return [
        {
            "url": CANONICAL_BASE + url if url else None,
            "caption": story.caption,
            "credit": story.credit,
            "aliases": [CANONICAL_BASE + p for family, p in story.pictures.items() if family != home],
        }
    ]


def record(model: SiteModel, story: Story) -> dict[str, Any]:
    """The expected record of one story at the model's epoch."""
    body = [{"heading": heading, "paragraphs": list(paragraphs)} for heading, paragraphs in story.sections_at(model.epoch)]
    fields: dict[str, Any] = {
        "title": story.title,
        "published_at": story.published.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "source": story.source or None,
        "authors": list(story.authors),
        "byline": story.byline_name,
        "editor": story.editor,
        "images": images(story),
        "body": body,
    }
    url = CANONICAL_BASE + story.paths[story.primary]
    parsed = parse_article_url(url)
    assert parsed is not None, url
    aliases = [CANONICAL_BASE + p for g, p in story.paths.items() if g != story.primary]
    if story.moved_from:
        aliases.append(CANONICAL_BASE + story.moved_from)
    text = body_text(body)
    return {
        "id": parsed.id,
        "url": url,
        "aliases": aliases,
        "channel": story.channel,
        "section_label": story.section_label(),
        **fields,
        "summary": story.summary,
        "text": text,
        "word_count": count_words(text),
        "language": language(text),
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


@dataclass(slots=True)
class Audit:
    """Exactly once, story by story: what a lake's change log holds against the truth, whatever ids it used.

    A record belongs to the truth story one of its URLs (``url`` or an alias) belongs to. A story is
    *lost* when no record has it, *duplicated* when its records carry more than one id or their
    revisions are not 1, 2, ... in order; its latest record is compared field by field (``wrong``),
    bar the fields ``ignore`` names (``images.aliases`` compares images without their aliases). With
    ``either_twin``, a story published twice may have been exported from either of its pages (the other one
    failed that night): its identity (id, URL, aliases, picture URLs) may then be that page's.
    """

    expected: int
    exported: int
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.wrong)

    def summary(self) -> str:
        return (f"{self.exported} records for {self.expected} stories: {len(self.lost)} lost, {len(self.duplicated)} "
                f"duplicated, {len(self.unexpected)} unexpected, {len(self.wrong)} wrong (first: {self.wrong[:3]})")


_TWIN_IDENTITY = ("id", "url", "aliases", "images.aliases", "images.url")


def audit(records: list[dict[str, Any]], expected: list[dict[str, Any]], *, ignore: tuple[str, ...] = (),
          either_twin: bool = False) -> Audit:
    truth = {r["id"]: r for r in expected}
    story_of = {url: r["id"] for r in expected for url in (r["url"], *r["aliases"])}
    result = Audit(expected=len(truth), exported=len(records))
    found: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        story = next((story_of[u] for u in (rec["url"], *rec.get("aliases", ())) if u in story_of), None)
        if story is None:
            result.unexpected.append(rec["id"])
        else:
            found.setdefault(story, []).append(rec)
    result.lost = sorted(set(truth) - set(found))
    for story, recs in sorted(found.items()):
        if len({r["id"] for r in recs}) > 1 or [r.get("revision") for r in recs] != list(range(1, len(recs) + 1)):
            result.duplicated.append(story)
        latest, want = recs[-1], truth[story]
        skip = set(ignore) | (set(_TWIN_IDENTITY) if either_twin and want["aliases"] else set())
        for name, value in want.items():
            if name in skip or name == "generation":
                continue
            got = latest.get(name)
            if name == "images":
                dropped = {part.removeprefix("images.") for part in skip if part.startswith("images.")}
                got = [{k: v for k, v in i.items() if k not in dropped} for i in got or []]
                value = [{k: v for k, v in i.items() if k not in dropped} for i in value]
            if got != value:
                result.wrong.append((story, name))
    return result
