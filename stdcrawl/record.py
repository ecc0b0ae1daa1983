"""The article record: the data contract between stdcrawl and the data lake.

Plain dataclasses (itemadapter exports them as they are) with no Scrapy import,
so extraction, the replica's ground truth and the pipelines share one definition.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, TypedDict


class Image(TypedDict):
    url: str | None  # canonical when on a stdaily host; None for a caption whose picture is missing
    caption: str | None
    credit: str | None  # as printed inside the parentheses: "PHOTO: XINHUA", "COURTESY PHOTO"


class Section(TypedDict):
    heading: str | None  # None for the part before the first sub-heading
    paragraphs: list[str]


# The version of the JSON Schemas in stdcrawl/schema/ that the records follow.
SCHEMA_VERSION = 1

# The fields that are the article's own content: what content_hash covers.
# Not the URL (one story has two), not the list summary, nothing crawl-related.
CONTENT_FIELDS: tuple[str, ...] = (
    "title",
    "published_at",
    "source",
    "authors",
    "byline",
    "editor",
    "images",
    "body",
)


@dataclass(slots=True)
class Article:
    """One article, as exported (one JSON line per article)."""

    id: str  # "stdaily:<content id or 32-hex hash>"
    url: str  # canonical https://www.stdaily.com/<path>
    aliases: list[str]  # other canonical URLs of the same story
    fetched_url: str | None
    channel: str | None  # current channel name: "Cooperation"
    section_label: str | None  # as printed: "International Cooperation"
    title: str
    published_at: str  # ISO 8601, Beijing time: "2024-05-08T14:33:37+08:00"
    source: str | None
    authors: list[str]
    byline: str | None
    editor: str | None
    images: list[Image]
    summary: str | None  # the list page's summary, when the article was reached from one
    body: list[Section]
    text: str
    word_count: int
    language: str
    content_hash: str
    crawled_at: str | None  # UTC, ISO 8601
    parser: str  # "<generation>/<parser version>/<selectors|text>"
    # Set by the state pipeline: 1 for a new article, +1 for each real edit.
    revision: int = 1
    previous_content_hash: str | None = None
    deleted: bool = False
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Tombstone:
    """An exported article that the site now answers 404 or 410 for: the lake hides it."""

    id: str
    url: str
    aliases: list[str]
    channel: str | None
    http_status: int
    crawled_at: str  # when the removal was seen, UTC
    revision: int = 1  # set by the state pipeline: the last exported revision + 1
    previous_content_hash: str | None = None
    deleted: bool = True
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Rejected:
    """A record that failed validation: kept with the reasons, never exported as an article."""

    id: str | None
    url: str | None
    reasons: list[str]
    record: dict[str, Any]
    rejected_at: str


def body_text(body: list[Section]) -> str:
    """The body as plain text: headings and paragraphs, a blank line between blocks."""
    blocks: list[str] = []
    for section in body:
        if section["heading"]:
            blocks.append(section["heading"])
        blocks.extend(section["paragraphs"])
    return "\n\n".join(blocks)


def content_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the article's own content (CONTENT_FIELDS), canonical JSON."""
    content = {name: fields[name] for name in CONTENT_FIELDS}
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()
