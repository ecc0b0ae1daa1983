"""Clean: every text field in its normal form, whatever produced the record.

NFC, spaces collapsed, ``?`` left by spam mirrors in place of non-breaking
spaces read as spaces (real question marks kept), lines of spam keywords and
empty paragraphs removed, authors split and trimmed ("Staff Reporters" and
"The Editorial Office" kept whole). ``text``, ``word_count`` and
``content_hash`` are recomputed from the cleaned fields. Extraction already
reads clean text, so a fix here means something got through: each fixed field
counts in ``stdcrawl/clean/fixed/<field>``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from stdcrawl.record import CONTENT_FIELDS, Article, Image, Section, body_text, content_hash
from stdcrawl import events
from stdcrawl.fingerprint import simhash, to_hex
from stdcrawl.text import clean_text, count_words, is_spam_line, split_names

logger = logging.getLogger(__name__)

_OPTIONAL_TEXT = ("section_label", "source", "byline", "editor", "summary")


def clean_article(article: Article) -> list[str]:
    """Clean ``article`` in place; return the names of the fields that changed."""
    changed: list[str] = []

    def put(name: str, value: Any) -> None:
        if getattr(article, name) != value:
            setattr(article, name, value)
            changed.append(name)

    put("title", clean_text(article.title))
    for name in _OPTIONAL_TEXT:
        put(name, clean_text(getattr(article, name)) or None)
    authors: list[str] = []
    for author in article.authors:
        authors += [a for a in split_names(author) if a not in authors]
    put("authors", authors)
    images: list[Image] = [
        {"url": image["url"], "caption": clean_text(image["caption"]) or None, "credit": clean_text(image["credit"]) or None,
         "aliases": image["aliases"]}
        for image in article.images
    ]
    put("images", images)
    english = article.language == "en"
    body: list[Section] = []
    for section in article.body:
        paragraphs = [p for p in map(clean_text, section["paragraphs"]) if p and not (english and is_spam_line(p))]
        heading = clean_text(section["heading"]) or None
        if heading or paragraphs:
            body.append({"heading": heading, "paragraphs": paragraphs})
    put("body", body)
    if "body" in changed:
        put("text", body_text(body))
        put("word_count", count_words(article.text))
        put("fingerprint", to_hex(simhash(article.text)))
    if any(name in CONTENT_FIELDS for name in changed):
        put("content_hash", content_hash({name: getattr(article, name) for name in CONTENT_FIELDS}))
    return changed


class CleanPipeline:
    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleanPipeline:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        for name in clean_article(item):
            self.stats.inc_value(events.CLEAN_FIXED_PREFIX + name)
        return item
