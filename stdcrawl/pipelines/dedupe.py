"""Dedupe within a run: one record per story (what a story is: :mod:`stdcrawl.stories`).

- Same id or canonical URL (an alias included) as a record already passed:
  dropped (INFO, ``stdcrawl/dedupe/duplicate_url``).
- Same content as a record already passed under another URL: the story was
  published twice and the spider could not pair the pages; dropped and its URL
  reported (INFO, ``stdcrawl/dedupe/duplicate_content``). Twins the spider did
  pair arrive already merged, with the other URL in ``aliases``.
- Nearly the same text (SimHash within ``STDCRAWL_NEAR_DUPLICATE_BITS`` bits,
  default 6 of 64: a sentence added to a 250-word story moves about 4): both kept, reported (INFO, ``stdcrawl/dedupe/near_duplicate``).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.exceptions import DropItem

from stdcrawl import events
from stdcrawl.fingerprint import NearDuplicates, from_hex
from stdcrawl.record import Article
from stdcrawl.urls import url_key

logger = logging.getLogger(__name__)


class DedupePipeline:
    def __init__(self, stats: StatsCollector, near_bits: int) -> None:
        self.stats = stats
        # Compact keys: a long run keeps one entry per article here, and strings would weigh.
        self.seen: set[int] = set()  # url_key of every id, canonical URL and alias passed
        self.contents: dict[int, int] = {}  # content hash (first 64 bits) -> index in self.near.keys
        self.near = NearDuplicates(near_bits)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats, crawler.settings.getint("STDCRAWL_NEAR_DUPLICATE_BITS"))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        keys = {url_key(k) for k in (item.id, item.url, *item.aliases)}
        if keys & self.seen:
            self.stats.inc_value(events.DEDUPE_DUPLICATE_URL)
            raise DropItem(f"duplicate of {item.id} ({item.url}) already exported in this run", log_level="INFO")
        content = int(item.content_hash.removeprefix("sha256:")[:16], 16)
        if (first := self.contents.get(content)) is not None:
            self.stats.inc_value(events.DEDUPE_DUPLICATE_CONTENT)
            raise DropItem(f"{item.url} has the same content as {self.near.keys[first]}, exported in this run", log_level="INFO")
        self.contents[content] = len(self.near.keys)
        for other, distance in self.near.add(from_hex(item.fingerprint), item.url):
            logger.info("Near duplicate: %s and %s differ in %d of 64 fingerprint bits; both kept", item.url, other, distance)
            self.stats.inc_value(events.DEDUPE_NEAR_DUPLICATE)
        self.seen |= keys
        return item
