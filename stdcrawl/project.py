"""The project's Scrapy settings, for commands that run a crawl in process."""

from __future__ import annotations

from typing import Any

from scrapy.settings import Settings


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """``stdcrawl.settings`` at project priority, ``overrides`` as if given with ``-s``."""
    settings = Settings()
    settings.setmodule("stdcrawl.settings", priority="project")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings
