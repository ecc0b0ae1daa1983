"""A download handler that downloads nothing: the guard of ``stdcrawl reextract``.

``stdcrawl reextract`` answers every request from the WARC archive
(:mod:`stdcrawl.downloadermiddlewares.replay`) and puts this handler in place
of the HTTP(S) ones, so that a request that got past the archive for any
reason fails here (:class:`NetworkRefused`, reason ``network_refused``) instead of
reaching the site: one WARNING line and ``stdcrawl/reextract/refused``.
"""

from __future__ import annotations

import logging

from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from stdcrawl import events

logger = logging.getLogger(__name__)


class NetworkRefused(IgnoreRequest):
    """A request that would have gone to the network in a run that sends none."""

    reason = "network_refused"


class OfflineDownloadHandler(BaseDownloadHandler):
    async def download_request(self, request: Request) -> Response:
        logger.warning("Refused %s: stdcrawl reextract sends no request to the network", request.url)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(events.REEXTRACT_REFUSED)
        raise NetworkRefused(f"stdcrawl reextract sends no request to the network: {request.url}")
