"""State across runs: what is new, what changed, what is gone.

Compared with the state store (what earlier runs stored):
- unknown: exported as revision 1 (``stdcrawl/state/new``);
- known, same ``content_hash``: not exported (INFO, ``stdcrawl/state/unchanged``);
- known, other hash: exported again as revision + 1 with ``previous_content_hash``
  (``stdcrawl/state/revised``); a known article that had been deleted and is back
  counts as revised too;
- a tombstone for a known article: exported once, as revision + 1
  (``stdcrawl/state/deleted``); for an unknown or already deleted one, dropped.
A record found under another URL of a known story (say only its G1b page this
time) takes the known id and URL, so ids stay stable across runs.
The decisions only read the store; the ledger writes it once the part is stored.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from stdcrawl.extensions.ledger import ExportLedger
from stdcrawl.record import Article, Tombstone
from stdcrawl.state import Known, StateStore


class StatePipeline:
    def __init__(self, crawler: Crawler, ledger: ExportLedger) -> None:
        self.stats = crawler.stats
        self.ledger = ledger

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatePipeline:
        ledger = crawler.get_extension(ExportLedger)
        assert ledger is not None, "the StatePipeline needs the ExportLedger extension"
        return cls(crawler, ledger)

    @property
    def store(self) -> StateStore:
        assert self.ledger.store is not None  # the spider closes at once when the store is unusable
        return self.ledger.store

    def _known(self, item: Article | Tombstone) -> Known | None:
        for key in (item.id, item.url, *item.aliases):
            if known := self.store.lookup(key):
                return known
        return None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Tombstone):
            return self._tombstone(item)
        if not isinstance(item, Article):
            return item
        known = self._known(item)
        if known is None:
            item.revision, item.previous_content_hash = 1, None
            self.stats.inc_value("stdcrawl/state/new")
            return item
        if known.id != item.id:
            item.aliases = sorted({*known.aliases, *item.aliases, item.url} - {known.url})
            item.id, item.url = known.id, known.url
            self.stats.inc_value("stdcrawl/state/adopted_id")
        if known.content_hash == item.content_hash and not known.deleted:
            self.ledger.unchanged(known.id)
            self.stats.inc_value("stdcrawl/state/unchanged")
            raise DropItem(f"{item.id} unchanged since revision {known.revision}", log_level="INFO")
        item.revision, item.previous_content_hash = known.revision + 1, known.content_hash
        self.stats.inc_value("stdcrawl/state/revised")
        return item

    def _tombstone(self, item: Tombstone) -> Tombstone:
        known = self._known(item)
        if known is None or known.deleted:
            self.stats.inc_value("stdcrawl/state/tombstone_not_needed")
            raise DropItem(f"{item.url} is gone but was never exported or is already deleted", log_level="INFO")
        item.id, item.url, item.aliases = known.id, known.url, list(known.aliases)
        item.revision, item.previous_content_hash = known.revision + 1, known.content_hash
        self.stats.inc_value("stdcrawl/state/deleted")
        return item
