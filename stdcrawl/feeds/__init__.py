"""Feed export parts: exporters that remember what they wrote, storages that remember whether it was stored.

The export ledger joins the two when Scrapy closes a feed slot (the
``feed_slot_closed`` signal fires whether the store succeeded or not).
"""

from __future__ import annotations

from typing import Any

from scrapy import Spider


def uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """``FEED_URI_PARAMS``: ``%(run_id)s``, ``%(dt)s`` (the run's UTC date), and parts numbered from 0.

    Scrapy counts batches from 1 and wants ``%(batch_id)`` in a batched URI;
    lake parts are ``part-00000``, ``part-00001``, ...
    """
    settings = spider.crawler.settings
    params["run_id"] = settings.get("STDCRAWL_RUN_ID")
    params["dt"] = settings.get("STDCRAWL_RUN_DATE")
    params["batch_id"] -= 1
    return params
