"""Validate: every article against the JSON Schema the lake gets (``stdcrawl/schema/``).

An article that fails is not exported as an article: it becomes a
:class:`~stdcrawl.record.Rejected` item holding the record and the reasons,
which the rejects dataset of the lake keeps, and the article is *pending*: the
next run fetches it again (the site may have mended the page, or a fixed
stdcrawl may read it). Each rejection is one WARNING line (values cut short)
and counts in ``stdcrawl/validate/rejected``. Tombstones are completed by the
state pipeline and checked there, against their own schema.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from stdcrawl import events
from stdcrawl.clock import utc_now
from stdcrawl.record import Article, Rejected, as_dict
from stdcrawl.schema import Checker
from stdcrawl.state.ledger import ExportLedger

logger = logging.getLogger(__name__)


class ValidatePipeline:
    def __init__(self, stats: StatsCollector, ledger: ExportLedger | None) -> None:
        self.stats = stats
        self.ledger = ledger
        self.checker = Checker("article")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        assert crawler.stats is not None
        return cls(crawler.stats, crawler.get_extension(ExportLedger))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        # The record as the lake will see it; its values are JSON-shaped already, so no deep copy.
        record = as_dict(item)
        reasons = self.checker.reasons(record)
        if not reasons:
            return item
        logger.warning("Rejected article %s: %s%s", item.url, reasons[0], f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else "")
        self.stats.inc_value(events.VALIDATE_REJECTED)
        if self.ledger is not None:
            self.ledger.failed(item.url, item.channel, item.summary, "rejected: " + reasons[0])
        return Rejected(item.id, item.url, reasons, record, utc_now(), run_id=item.run_id)
