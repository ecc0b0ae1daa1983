"""Scrapy's HTTP/1.1 download handler with the response headers capped like bodies.

``DOWNLOAD_MAXSIZE`` bounds a body, nothing bounds the headers before it:
Twisted keeps every header line a server sends, so a server that streams
headers forever grows the crawl's memory without end (600 MB of headers cost
2.2 GB). This handler counts the bytes of the status line and header lines as
Twisted's parser receives them and, past ``STDCRAWL_MAX_HEADER_BYTES``, drops
the connection: the request fails with :class:`HeadersTooLarge` (reason
``headers_too_large``; not retried, as the next answer would be the same).
A single header line longer than Twisted's line limit (16 KiB), which Twisted
would end with a bare connection loss, fails the same way. ``0`` turns the
cap off (Scrapy's handler as it is).

How: Scrapy's handler already gives its connection pool its own protocol
factory, whose protocols swap each request's parser for a lenient subclass of
Twisted's; this handler does the same one step further, with a subclass of
Scrapy's lenient parser that counts. Nothing else of the download changes.

Counter: ``stdcrawl/download/headers_too_large`` (and a WARNING line).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, cast

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadFailedError, IgnoreRequest
from scrapy.http import Request, Response
from twisted.internet.defer import Deferred
from twisted.web._newclient import HTTP11ClientProtocol
from twisted.web.client import ResponseFailed


logger = logging.getLogger(__name__)


class HeadersTooLarge(IgnoreRequest):
    """A response's headers went past ``STDCRAWL_MAX_HEADER_BYTES``: the download was dropped."""

    reason = "headers_too_large"


class _HeaderLimit(Exception):
    """Raised inside Twisted's parser; the handler turns it into HeadersTooLarge with the URL."""


class _HeaderCappedParser(_LenientHTTPClientParser):
    # Set by _HeaderCappedProtocol.request() right after it gives a parser this class.
    max_header_bytes = 0
    header_bytes = 0

    def lineReceived(self, line: bytes) -> None:
        # Only the status line and the headers arrive as lines: the body comes in raw mode.
        self.header_bytes += len(line) + 1
        if self.max_header_bytes and self.header_bytes > self.max_header_bytes:
            raise _HeaderLimit(f"its headers went past STDCRAWL_MAX_HEADER_BYTES={self.max_header_bytes}")
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        raise _HeaderLimit(f"a header line went past {self.MAX_LENGTH} bytes")


class _HeaderCappedProtocol(_LenientHTTP11ClientProtocol):
    def __init__(self, quiescentCallback: Any, max_header_bytes: int) -> None:
        super().__init__(quiescentCallback)
        self._max_header_bytes = max_header_bytes

    def request(self, request: Any) -> Deferred[Any]:
        d = super().request(request)
        # Scrapy's protocol has just given the new parser its lenient class, the only way in: Twisted
        # builds the parser inside request(). Ours subclasses it and only adds the two counters set here.
        if self._parser is not None:
            self._parser.__class__ = _HeaderCappedParser
            parser = cast(_HeaderCappedParser, self._parser)
            parser.max_header_bytes = self._max_header_bytes
            parser.header_bytes = 0
        return d


class _HeaderCappedFactory(_LenientHTTP11ClientFactory):
    def __init__(self, quiescentCallback: Any, metadata: Any, *, max_header_bytes: int) -> None:
        super().__init__(quiescentCallback, metadata)
        self._max_header_bytes = max_header_bytes

    def buildProtocol(self, addr: Any) -> HTTP11ClientProtocol:
        return _HeaderCappedProtocol(self._quiescentCallback, self._max_header_bytes)


def _header_limit(exc: BaseException) -> _HeaderLimit | None:
    """The _HeaderLimit behind a failed download (Scrapy wraps Twisted's ResponseFailed), if any."""
    cause = exc.__cause__
    if isinstance(cause, ResponseFailed):
        for reason in cause.reasons:
            if isinstance(reason.value, _HeaderLimit):
                return reason.value
    return None


class HeaderCappedHTTP11DownloadHandler(HTTP11DownloadHandler):
    """HTTP and HTTPS as Scrapy downloads them, failing a response whose headers pass ``STDCRAWL_MAX_HEADER_BYTES``."""

    def __init__(self, crawler: Crawler) -> None:
        # A bad value fails every HTTP request with this one-line message (Scrapy reports a handler
        # it cannot build as an unsupported scheme); settings_errors() finds it before the crawl.
        self.max_header_bytes = crawler.settings.getint("STDCRAWL_MAX_HEADER_BYTES")
        super().__init__(crawler)
        if self.max_header_bytes > 0:
            # The pool builds one protocol per connection from this factory, as Scrapy's own handler sets it.
            self._pool._factory = partial(_HeaderCappedFactory, max_header_bytes=self.max_header_bytes)  # type: ignore[assignment]

    async def download_request(self, request: Request) -> Response:
        try:
            return await super().download_request(request)
        except DownloadFailedError as exc:
            limit = _header_limit(exc)
            if limit is None:
                raise
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("stdcrawl/download/headers_too_large")
        logger.warning("Dropped %s: %s", request.url, limit)
        raise HeadersTooLarge(f"{request.url}: response headers too large: {limit}")
