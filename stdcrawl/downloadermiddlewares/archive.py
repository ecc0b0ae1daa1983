"""Every response to a page the walk read is archived as it came, and the spider learns where it went.

Pages are the requests the spider makes for homepages, list pages and
articles (they carry ``meta["canonical"]``), with every hop of their redirects
and every retry: errors, redirects and damaged pages are archived like any
response. robots.txt and anything else the crawl downloads are not. Each
response becomes an :class:`~stdcrawl.archive.Exchange` (the request headers as
sent, the response status, headers and body as received) written by the run's
:class:`~stdcrawl.extensions.warcarchive.WarcArchive`; the
:class:`~stdcrawl.archive.Stored` location goes to ``response.meta["archived"]``
(:data:`ARCHIVED`), from which the spider stamps the record's ``provenance``.

Placed at 900, next to the download handler: ``process_request`` runs after
every other middleware has set its headers (User-Agent, Accept-Encoding, the
proxy's), and ``process_response`` runs first, before decompression,
redirects, retries and the damage check, so the body is the one received: a
GBK page stays GBK bytes, a gzip body stays gzip. Credentials are never
archived: ``Authorization``, ``Proxy-Authorization`` and ``Cookie`` request
headers are left out. Scrapy hands headers over with their names in title case
and without the reason phrase; the archive has what Scrapy kept.

Settings: ``STDCRAWL_ARCHIVE`` (off: no archive, records have ``provenance: []``);
off in ad-hoc runs and in ``stdcrawl reextract`` (nothing is downloaded there).
The records are built (hashed, gzipped) in the spider's worker processes
(``spider.readers``, :meth:`stdcrawl.readers.Readers.encode`) while there are
any, else by the writer; the bytes written are the same either way.

A response that cannot be archived is one log line and a counter
(``stdcrawl/archive/refused`` for an exchange that is not well-formed HTTP,
``stdcrawl/archive/write_failed`` when the file cannot take it); the crawl goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Request, Response
from scrapy.utils.httpobj import urlparse_cached

from stdcrawl import events
from stdcrawl.archive import Exchange
from stdcrawl.extensions.warcarchive import WarcArchive
from stdcrawl.readers import Readers

logger = logging.getLogger(__name__)

ARCHIVED = "archived"  # response.meta: where the response is archived (anything with a provenance() method)
_SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie"})


def _pairs(headers: Headers, *, skip: frozenset[bytes] = frozenset()) -> list[tuple[bytes, bytes]]:
    # Headers keeps names and values as bytes (normalised when set): read as stored, not through
    # Headers.items(), which normalises each name again and builds a list per name.
    return [(name, value) for name, values in dict.items(headers) if name.lower() not in skip for value in values]


def exchange_of(request: Request, response: Response, when: dt.datetime) -> Exchange:
    """The exchange as the downloader saw it; ``ValueError`` when it is not well-formed HTTP."""
    protocol = response.protocol if response.protocol and response.protocol.startswith("HTTP/") else "HTTP/1.1"
    return Exchange(
        url=response.url,
        status=response.status,
        response_headers=_pairs(response.headers),
        body=response.body,
        method=request.method,
        request_headers=_pairs(request.headers, skip=_SECRET_HEADERS),
        request_body=request.body,
        protocol=protocol,
        date=when,
        ip_address=str(response.ip_address) if response.ip_address is not None else None,
    )


class ArchiveMiddleware:
    """Archive the responses to pages; see the module docstring."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._archive: WarcArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if (not settings.getbool("STDCRAWL_ARCHIVE") or settings.getlist("STDCRAWL_REEXTRACT_WARC")
                or settings.getbool("STDCRAWL_ADHOC")):
            raise NotConfigured
        return cls(crawler)

    @property
    def archive(self) -> WarcArchive | None:
        if self._archive is None:
            self._archive = self.crawler.get_extension(WarcArchive)
        return self._archive

    def process_request(self, request: Request) -> None:
        # A redirect or a retry copies its request's meta: each attempt starts without a location.
        request.meta.pop(ARCHIVED, None)

    async def process_response(self, request: Request, response: Response) -> Response:
        if "canonical" not in request.meta or urlparse_cached(request).path == "/robots.txt":
            return response
        archive = self.archive
        if archive is None:
            return response
        try:
            exchange = exchange_of(request, response, dt.datetime.now(dt.UTC))
        except ValueError as exc:
            logger.warning("Response not archived: %s", exc)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(events.ARCHIVE_REFUSED)
            return response
        encoded = None
        # The spider's worker processes hash and gzip the records; the writer only appends them.
        readers: Readers | None = getattr(self.crawler.spider, "readers", None)
        if readers is not None and (target := archive.target()) is not None:
            encoded = await readers.encode(exchange, *target)
        if (stored := archive.write(exchange, encoded)) is not None:
            request.meta[ARCHIVED] = stored  # response.meta is its request's meta
        return response
