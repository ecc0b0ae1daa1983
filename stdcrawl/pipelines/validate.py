"""Validate: every record against the JSON Schema the lake gets (``stdcrawl/schema/``).

A record that fails is not exported as an article: it becomes a
:class:`~stdcrawl.record.Rejected` item holding the record and the reasons,
which the rejects feed writes beside the output. Each rejection is a WARNING
and counts in ``stdcrawl/validate/rejected``.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from jsonschema import Draft202012Validator
from scrapy.crawler import Crawler

from stdcrawl import schema
from stdcrawl.extensions.ledger import utc_now
from stdcrawl.record import Article, Rejected, Tombstone

logger = logging.getLogger(__name__)
MAX_REASONS = 10


class ValidatePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.validators = {
            Article: Draft202012Validator(schema.load("article")),
            Tombstone: Draft202012Validator(schema.load("tombstone")),
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        validator = self.validators.get(type(item))
        if validator is None:
            return item
        record = ItemAdapter(item).asdict()
        errors = sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
        if not errors:
            return item
        reasons = [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}" for e in errors[:MAX_REASONS]]
        logger.warning("Rejected %s %s: %s%s", type(item).__name__.lower(), record.get("url"), reasons[0],
                       f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        self.stats.inc_value("stdcrawl/validate/rejected")
        return Rejected(record.get("id"), record.get("url"), reasons, record, utc_now())
