"""Settings computed from other settings, applied after the command line's.

- ``USER_AGENT``: ``stdcrawl/<version> (+STDCRAWL_CONTACT_URL)``, unless set.
- ``FEEDS``: when no feed is given (``-o``/``-O`` or ``FEEDS``), one JSONL file
  per run under ``STDCRAWL_DATA_DIR``: ``<data>/<channel>/<time>.jsonl``.
"""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import BaseSettings, SETTINGS_PRIORITIES

from stdcrawl import __version__


class StdcrawlAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["default"]:
            contact = settings.get("STDCRAWL_CONTACT_URL") or "no contact given"
            settings.set("USER_AGENT", f"stdcrawl/{__version__} (+{contact})", priority="addon")
        if not settings.getdict("FEEDS"):
            data_dir = Path(settings.get("STDCRAWL_DATA_DIR") or "data")
            uri = (data_dir / "%(channel_slug)s" / "%(time)s.jsonl").as_posix()
            settings.set("FEEDS", {uri: {"format": "jsonlines", "encoding": "utf-8"}}, priority="addon")
