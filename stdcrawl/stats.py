"""The run's stats collector (``STATS_CLASS``): Scrapy's in-memory one, at the cost of a dict.

Scrapy 2.19 sends every attribute lookup on a stats collector through a
``__getattribute__`` that watches for a deprecated ``spider`` argument: each
``inc_value`` pays a failed lookup and a caught exception for ``self._stats``,
about 2 microseconds, and stdcrawl counts some thirty events a page
(:mod:`stdcrawl.events`). This collector is :class:`MemoryStatsCollector` with
plain attribute lookup; nothing in stdcrawl passes ``spider``.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class StatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__
