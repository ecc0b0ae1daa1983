"""The article record: the data contract between stdcrawl and the data lake.

Plain dataclasses (itemadapter exports them as they are) with no Scrapy import,
so extraction, the replica's ground truth and the pipelines share one definition.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypedDict


class Image(TypedDict):
    url: str | None  # canonical when on a stdaily host; None for a caption whose picture is missing
    caption: str | None
    credit: str | None  # as printed inside the parentheses: "PHOTO: XINHUA", "COURTESY PHOTO"
    aliases: list[str]  # the same picture at another URL: the other page of a merged twin


class Provenance(TypedDict):
    """Where the bytes a record was read from are kept: one WARC response record."""

    url: str  # the URL fetched
    warc: str  # the WARC file's key below the lake root
    offset: int  # byte offset of the response record in that file
    record_id: str  # its WARC-Record-ID
    payload_digest: str  # its WARC-Payload-Digest


class Section(TypedDict):
    heading: str | None  # None for the part before the first sub-heading
    paragraphs: list[str]


# The version of the JSON Schemas in stdcrawl/schema/ that the records follow.
SCHEMA_VERSION = 2

# The fields that are the story's own content: what content_hash covers, and so what
# makes two pages one story and a new page a revision. Of the images only the captions
# and credits count: the two CMSs of 2022-2024 keep the same picture at different URLs.
# Not the URLs, the list summary, the source and Editor lines (CMS furniture), nothing
# crawl-related.
CONTENT_FIELDS: tuple[str, ...] = (
    "title",
    "published_at",
    "authors",
    "byline",
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
    fingerprint: str  # SimHash of the text, 16 hex digits: near-duplicates are a few bits apart
    crawled_at: str | None  # UTC, ISO 8601
    parser: str  # "<generation>/<parser version>/<selectors|text>"
    template: str | None  # signature of the page structure around the parts the reader found
    charset: str | None  # the encoding the page was read in
    replacement_chars: int  # U+FFFD in the decoded page: bytes no encoding could read
    run_id: str | None = None  # the run that exported this revision
    provenance: list[Provenance] = field(default_factory=list)
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
    run_id: str | None = None
    deleted: bool = True
    schema_version: int = SCHEMA_VERSION


@dataclass(slots=True)
class Rejected:
    """A record that failed validation: kept with the reasons, never exported as an article."""

    id: str | None
    url: str | None
    reasons: list[str]
    record: dict[str, Any]
    rejected_at: str
    run_id: str | None = None


def body_text(body: list[Section]) -> str:
    """The body as plain text: headings and paragraphs, a blank line between blocks."""
    blocks: list[str] = []
    for section in body:
        if section["heading"]:
            blocks.append(section["heading"])
        blocks.extend(section["paragraphs"])
    return "\n\n".join(blocks)


def content_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the story's own content (CONTENT_FIELDS), canonical JSON.

    Images count by caption and credit only, in order: ``[[caption, credit], ...]``.
    """
    content = {name: fields[name] for name in CONTENT_FIELDS}
    content["images"] = [[image["caption"], image["credit"]] for image in content["images"]]
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def legacy_content_hash(fields: dict[str, Any]) -> str:
    """``content_hash`` as stdcrawl defined it before schema version 2 (image URLs, source and editor
    included): state stores written then hold it, and an article read again is compared with it once."""
    content = {name: fields[name] for name in ("title", "published_at", "source", "authors", "byline", "editor", "body")}
    content["images"] = [{"url": i["url"], "caption": i["caption"], "credit": i["credit"]} for i in fields["images"]]
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8")).hexdigest()


_NAMES: dict[type, tuple[str, ...]] = {}


def as_dict(record: Article | Tombstone | Rejected) -> dict[str, Any]:
    """The record as the lake gets it: its fields in order, their values shared, not copied (they are
    JSON-shaped already). ``dataclasses.asdict`` would copy every nested list and dict of every record."""
    names = _NAMES.get(type(record))
    if names is None:
        names = _NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: getattr(record, name) for name in names}
