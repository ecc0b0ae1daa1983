"""State across runs: what is new, what changed, what is gone.

Compared with the state store (what earlier runs stored):
- unknown: exported as revision 1 (``stdcrawl/state/new``);
- known, same ``content_hash``: not exported (INFO, ``stdcrawl/state/unchanged``);
- known, other hash: exported again as revision + 1 with ``previous_content_hash``
  (``stdcrawl/state/revised``); a known article that had been deleted and is back
  counts as revised too;
- a (bare) tombstone from the spider for a known article: filled in (id, URL,
  aliases, revision + 1, previous hash), checked against its schema and exported
  once (``stdcrawl/state/deleted``); for an already deleted one, dropped; for an
  article never exported, dropped and remembered as pending (the site may only
  have failed for a while).

A story is known by its id, any of its URLs, or its content: a record met under
another URL of a known story (its G1b page alone this time, a URL that redirected,
or a twin whose other page was exported first) takes the known id and URL
(``stdcrawl/state/adopted_id``), so ids stay stable across runs whichever page
came first. Hashes recorded under the old definition (state schema 1) are
compared by that definition once, then replaced. The decisions only read the
store; the ledger writes it once the part is stored.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.exceptions import DropItem

from stdcrawl import events
from stdcrawl.clock import utc_now
from stdcrawl.record import Article, Rejected, Tombstone, as_dict, legacy_content_hash
from stdcrawl.schema import Checker
from stdcrawl.state import Known, Seen
from stdcrawl.state.ledger import ExportLedger
from stdcrawl.state.store import HASH_VERSION


class StatePipeline:
    def __init__(self, stats: StatsCollector, ledger: ExportLedger) -> None:
        self.stats = stats
        self.ledger = ledger
        self.tombstones = Checker("tombstone")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatePipeline:
        ledger = crawler.get_extension(ExportLedger)
        assert ledger is not None, "the StatePipeline needs the ExportLedger extension"
        assert crawler.stats is not None
        return cls(crawler.stats, ledger)

    def _known(self, item: Article | Tombstone) -> Known | None:
        store = self.ledger.store
        if store is None:
            return None  # an ad-hoc run: every record is new to it
        for key in (item.id, item.url, *item.aliases):
            if key and (known := store.lookup(key)):
                return known
        if isinstance(item, Article):
            return store.lookup_content(item.content_hash)
        return None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Tombstone):
            return self._tombstone(item)
        if not isinstance(item, Article):
            return item
        known = self._known(item)
        if known is None:
            item.revision, item.previous_content_hash = 1, None
            self.stats.inc_value(events.STATE_NEW)
            return item
        met_at = tuple(u for u in (item.url, *item.aliases) if u != known.url and u not in known.aliases)
        if known.id != item.id:
            item.aliases = sorted({*known.aliases, *item.aliases, item.url} - {known.url})
            item.id, item.url = known.id, known.url
            self.stats.inc_value(events.STATE_ADOPTED_ID)
        same = (known.content_hash == item.content_hash if known.hash_version == HASH_VERSION
                else known.content_hash == legacy_content_hash(as_dict(item)))
        if same and not known.deleted:
            renewed = item.content_hash if known.hash_version != HASH_VERSION else None
            self.ledger.unchanged(Seen(known.id, met_at, renewed, item.fingerprint))
            self.stats.inc_value(events.STATE_UNCHANGED)
            raise DropItem(f"{item.id} unchanged since revision {known.revision}", log_level="INFO")
        item.revision, item.previous_content_hash = known.revision + 1, known.content_hash
        self.stats.inc_value(events.STATE_REVISED)
        return item

    def _tombstone(self, item: Tombstone) -> Tombstone | Rejected:
        known = self._known(item)
        if known is None:
            self.ledger.failed(item.url, item.channel, None, f"http_{item.http_status}")
            self.stats.inc_value(events.STATE_TOMBSTONE_NOT_NEEDED)
            raise DropItem(f"{item.url} answers {item.http_status} but was never exported: fetched again next run", log_level="INFO")
        if known.deleted:
            self.stats.inc_value(events.STATE_TOMBSTONE_NOT_NEEDED)
            raise DropItem(f"{item.url} is gone and its tombstone went out already", log_level="INFO")
        item.id, item.url, item.aliases = known.id, known.url, list(known.aliases)
        item.revision, item.previous_content_hash = known.revision + 1, known.content_hash
        if reasons := self.tombstones.reasons(record := as_dict(item)):
            self.stats.inc_value(events.VALIDATE_REJECTED)
            return Rejected(item.id, item.url, reasons, record, utc_now(),
                            run_id=item.run_id)
        self.stats.inc_value(events.STATE_DELETED)
        return item

