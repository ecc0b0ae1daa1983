"""Feed export parts: exporters that remember what they wrote, storages that remember whether it was stored.

The export ledger joins the two when Scrapy closes a feed slot (the
``feed_slot_closed`` signal fires whether the store succeeded or not).
"""

from __future__ import annotations

from typing import Any

from scrapy import Spider


def uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """``FEED_URI_PARAMS``: adds ``%(run_id)s`` to the spider's attributes and ``%(time)s``."""
    params["run_id"] = spider.crawler.settings.get("STDCRAWL_RUN_ID")
    return params
