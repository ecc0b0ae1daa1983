"""Validate: every record against the JSON Schema the lake gets (``stdcrawl/schema/``).

A record that fails is not exported as an article: it becomes a
:class:`~stdcrawl.record.Rejected` item holding the record and the reasons,
which the rejects feed writes beside the output. Each rejection is a WARNING
and counts in ``stdcrawl/validate/rejected``.

Every record is checked by the schema compiled with fastjsonschema (tens of
microseconds, where jsonschema takes a millisecond: this runs once per
article); a record it rejects is checked again by jsonschema, to list every
reason rather than the first.
"""

from __future__ import annotations

import logging
from typing import Any

from dataclasses import fields

import fastjsonschema
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
        kinds = {Article: "article", Tombstone: "tombstone"}
        self.checks = {cls: fastjsonschema.compile(schema.load(kind)) for cls, kind in kinds.items()}
        self.validators = {cls: Draft202012Validator(schema.load(kind)) for cls, kind in kinds.items()}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        check = self.checks.get(type(item))
        if check is None:
            return item
        # The record as the lake will see it; its values are JSON-shaped already, so no deep copy.
        record = {f.name: getattr(item, f.name) for f in fields(item)}
        try:
            check(record)
            return item
        except fastjsonschema.JsonSchemaException:
            pass
        errors = sorted(self.validators[type(item)].iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
        reasons = [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {e.message}" for e in errors[:MAX_REASONS]]
        logger.warning("Rejected %s %s: %s%s", type(item).__name__.lower(), record.get("url"), reasons[0],
                       f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        self.stats.inc_value("stdcrawl/validate/rejected")
        return Rejected(record.get("id"), record.get("url"), reasons, record, utc_now())
