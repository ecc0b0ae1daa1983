"""Dedupe within a run: one record per story.

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
from scrapy.exceptions import DropItem

from stdcrawl.dedupe import NearDuplicates, simhash
from stdcrawl.record import Article

logger = logging.getLogger(__name__)


class DedupePipeline:
    def __init__(self, crawler: Crawler, near_bits: int) -> None:
        self.stats = crawler.stats
        self.urls: dict[str, str] = {}  # canonical URL or alias -> id
        self.hashes: dict[str, str] = {}  # content hash -> url
        self.near = NearDuplicates(near_bits)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls(crawler, crawler.settings.getint("STDCRAWL_NEAR_DUPLICATE_BITS", 6))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        urls = [item.url, *item.aliases]
        if item.id in self.urls.values() or any(u in self.urls for u in urls):
            self.stats.inc_value("stdcrawl/dedupe/duplicate_url")
            raise DropItem(f"duplicate of {item.id} ({item.url}) already exported in this run", log_level="INFO")
        if (first := self.hashes.get(item.content_hash)) is not None:
            self.stats.inc_value("stdcrawl/dedupe/duplicate_content")
            raise DropItem(f"{item.url} has the same content as {first}, exported in this run", log_level="INFO")
        for other, distance in self.near.add(simhash(item.text), item.url):
            logger.info("Near duplicate: %s and %s differ in %d of 64 fingerprint bits; both kept", item.url, other, distance)
            self.stats.inc_value("stdcrawl/dedupe/near_duplicate")
        self.urls.update(dict.fromkeys(urls, item.id))
        self.hashes[item.content_hash] = item.url
        return item
