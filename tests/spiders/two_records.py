"""A test spider: one good article and one that breaks the schema, through the real pipelines and feeds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import scrapy

from stdcrawl.record import Article

PAGES = Path(__file__).resolve().parent.parent / "pages"


class TwoRecords(scrapy.Spider):
    name = "two_records"
    channel_slug = "cooperation"

    async def start(self) -> AsyncIterator[Any]:
        record = json.loads((PAGES / "g2-web.json").read_text(encoding="utf-8"))
        record.update(crawled_at="2026-11-27T01:02:03+00:00", fetched_url=record["url"])
        good = Article(**record)
        yield good
        yield replace(good, id="stdaily:1999999", url=good.url.replace(good.id[8:], "1999999"), published_at="yesterday")
