"""How the table counts its events: Scrapy's stats when it runs inside a crawl, a dict otherwise. Pure, no Scrapy.

Counter names follow the project's vocabulary, ``stdcrawl/table/<event>``.
"""

from __future__ import annotations

from typing import Protocol


class Stats(Protocol):
    """What the table counts with: Scrapy's ``StatsCollector`` has this method."""

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


class Counters:
    """A stand-in for Scrapy's stats outside a crawl: counters in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count
