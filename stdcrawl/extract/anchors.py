"""Parsers of the visible lines that anchor an stdaily page, whatever its markup.

Each function takes one line of visible text (already space-normalised and
repaired) and says whether it is a breadcrumb, meta line, caption, byline,
editor line or end-of-article marker, and what it holds. The formats are the
ones docs/site.md records; the regexes accept the spacing and colon variants seen.
Each pattern is anchored or starts with a literal, or is tried only on lines
that can match (a credit needs a closing parenthesis), so a line of any length
costs one pass. No settings, no failure mode: a line that is none of these is
``None``/``False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdcrawl.text import cjk_ratio

_COLON = r"\s*[:：]\s*"

# "position: EnglishChannel > Cooperation > Article"; G2/G3 end with the title.
_CRUMB_START = re.compile(r"^(?:position|location|current position|当前位置|您的位置|您现在的位置)\s*[:：]", re.I)
_CRUMB_ROOT = re.compile(r"^\s*English\s*Channel\s*$", re.I)
_CRUMB_SEP = re.compile(r"\s*(?:>|»|›|＞|&gt;)\s*")

# "Source: Science and Technology Daily | 2024-05-08 14:33:37 | Author: QI Liming"
DATE = re.compile(
    r"(?P<y>20\d\d)[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)
_SOURCE = re.compile(r"(?:\bSource|来源)" + _COLON, re.I)
_AUTHOR = re.compile(r"(?:\bAuthor|作者)" + _COLON, re.I)
_META_EDITOR = re.compile(r"(?:\bEditor|责任编辑|编辑)" + _COLON, re.I)
_FIELD_END = re.compile(r"\s*(?:[|｜]|\b(?:Source|Author|Editor|Click|Views|Share|Font)\s*[:：]|$)", re.I)

# "(PHOTO: XINHUA)", "(COURTESY PHOTO)", "(Photo provided by ...)", "(XINHUA/LI Ming)"
_CREDIT = re.compile(r"\s*[(（](?P<credit>[^()（）]{2,120})[)）]\s*$")
_CREDIT_WORDS = re.compile(
    r"\b(?:photos?|courtesy|image|credit|graphic|illustration|provided|screenshot|file|video|"
    r"xinhua|vcg|cns|ic|cfp|cgtn|china daily|chinadaily|reuters|afp|ap|epa|getty|s&t daily|"
    r"science and technology daily)\b",
    re.I,
)

# "By QI Liming", "By Staff Reporters", "Edited by LIN Yuchen"
_BYLINE = re.compile(r"^(?:(?:edited|written|reported|compiled|translated)\s+)?by\s*[:：]?\s+(?P<name>.+)$", re.I)
_NAME_LOWERCASE_OK = frozenset({"and", "of", "the", "de", "van", "von", "da", "bin", "al"})

_EDITOR = re.compile(r"^(?:editor|chief editor|editor in charge|责任编辑|编辑)" + _COLON + r"(?P<name>.{1,60})$", re.I)

# Lines after which nothing belongs to the article: sidebars and footers.
_END_MARKERS = re.compile(
    r"^(?:top news|top stories|related (?:news|stories|articles|reading)|more (?:news|stories)|recommended|"
    r"latest news|hot news|most (?:read|popular)|you may also like|editor'?s picks?|share(?: this| to)?|"
    r"相关新闻|推荐阅读)\s*[:：]?$",
    re.I,
)
# A footer line starts with a copyright or mailto, or says "all rights reserved" anywhere.
# Two patterns, not one with "^" alternatives: a pattern that starts with a literal lets
# the regex engine skip to where the literal could start instead of trying every position.
_FOOTER_START = re.compile(r"(?:copyright\b|©|\(c\)\s*\d{4}|mailto\s*:)", re.I)
_FOOTER_RIGHTS = re.compile(r"all rights reserved", re.I)


@dataclass(frozen=True, slots=True)
class Meta:
    source: str | None
    published_at: str  # ISO 8601, +08:00
    author: str  # raw, "" when empty
    editor: str | None = None  # when the meta line carries one: "... | Author: X | Editor: Y"


@dataclass(frozen=True, slots=True)
class Crumb:
    section_label: str | None
    tail: str | None  # what follows the section: "Article" (G1) or the title (G2/G3)


def looks_like_crumb_start(line: str) -> bool:
    return bool(_CRUMB_START.match(line)) or "EnglishChannel" in line.replace(" ", "")


def parse_crumb(line: str) -> Crumb | None:
    """Parse a breadcrumb line; None if it does not lead from EnglishChannel."""
    text = _CRUMB_START.sub("", line, count=1).strip()
    parts = [p.strip() for p in _CRUMB_SEP.split(text) if p.strip()]
    # Mirrors leave "?" where spaces stood around the separators; the last part may be a title ending in one.
    parts = [p.strip(" ?") for p in parts[:-1]] + parts[-1:]
    if not parts:
        return None
    if _CRUMB_ROOT.match(parts[0]) or parts[0].casefold() in {"home", "english", "首页"}:
        parts = parts[1:]
    elif not _CRUMB_START.match(line):
        return None
    if not parts:
        return Crumb(None, None)
    tail = " > ".join(parts[1:]) or None
    return Crumb(parts[0], tail)


def parse_published(text: str) -> str | None:
    """The first date (and time) in ``text`` as ISO 8601 in Beijing time."""
    m = DATE.search(text)
    if not m:
        return None
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    hh, mm, ss = int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mm < 60 and ss < 60):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}+08:00"


def _labelled(label: re.Pattern[str], text: str) -> str | None:
    m = label.search(text)
    if not m:
        return None
    rest = text[m.end() :]
    end = _FIELD_END.search(rest)
    value = rest[: end.start()] if end else rest
    # A value runs into the date when the separator is missing: "Source: X 2024-05-08 ..."
    if date := DATE.search(value):
        value = value[: date.start()]
    return value.strip(" |｜")


def parse_meta(text: str) -> Meta | None:
    """Parse the meta line (Source | date | Author); None if ``text`` is not one."""
    published = parse_published(text)
    if not published:
        return None
    source = _labelled(_SOURCE, text)
    author = _labelled(_AUTHOR, text)
    if source is None and author is None:
        return None
    return Meta(source or None, published, author or "", _labelled(_META_EDITOR, text) or None)


def meta_fields(text: str) -> set[str]:
    """Which parts of a meta line ``text`` holds: "source", "date", "author"."""
    found = {"source"} if _SOURCE.search(text) else set()
    if DATE.search(text):
        found.add("date")
    if _AUTHOR.search(text):
        found.add("author")
    return found


def is_meta_fragment(text: str) -> bool:
    """A line that may be one piece of a meta line split over several lines."""
    return len(text) <= 120 and bool(meta_fields(text))


def split_credit(text: str) -> tuple[str | None, str] | None:
    """``(caption, credit)`` when ``text`` ends with a photo credit, else None."""
    if not text.rstrip().endswith((")", "）")):
        return None  # what _CREDIT needs at the end, checked before a search through the whole line
    m = _CREDIT.search(text)
    if not m or not _CREDIT_WORDS.search(m["credit"]):
        return None
    caption = text[: m.start()].strip()
    return (caption or None), m["credit"].strip()


def parse_byline(text: str) -> str | None:
    """The name part of "By ..." / "Edited by ...", or None if ``text`` is not a byline."""
    m = _BYLINE.match(text)
    if not m:
        return None
    name = m["name"].strip()
    words = name.split()
    if not words or len(words) > 10 or name.endswith((".", "!", "?")) or re.search(r"\d", name):
        return None
    if not (words[0][0].isupper() or cjk_ratio(words[0]) > 0):
        return None
    for word in words:
        bare = word.strip(",&")
        if bare and bare[0].islower() and bare not in _NAME_LOWERCASE_OK:
            return None
    return name


def parse_editor(text: str) -> str | None:
    m = _EDITOR.match(text)
    if not m:
        return None
    name = m["name"].strip()
    return name if len(name.split()) <= 6 else None


def is_end_marker(text: str) -> bool:
    """A sidebar heading ("Top News") or a footer line: the article is over."""
    return bool(_END_MARKERS.match(text) or _FOOTER_START.match(text) or _FOOTER_RIGHTS.search(text))


def ends_sentence(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", "。", "！", "？", '"', "”", "'", "’", ")", "）", ":", ";", "…"))
