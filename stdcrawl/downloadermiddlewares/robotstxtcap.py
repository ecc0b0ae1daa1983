"""robots.txt is read up to a cap, never ignored for its size.

Scrapy drops a robots.txt over ``DOWNLOAD_MAXSIZE``, or one that inflates past
it (a gzip bomb), and then obeys nothing: every disallowed page gets fetched.
The major search engines read the first 500 KiB of a robots.txt and ignore
the rest; so does this middleware. It marks the robots.txt request (the one
Scrapy's RobotsTxtMiddleware sends, ``dont_obey_robotstxt`` meta, path
``/robots.txt``) so that the download handler applies no size limit to it, and
stops the download itself once ``STDCRAWL_MAX_ROBOTSTXT_BYTES`` have arrived
(Scrapy's ``bytes_received`` signal and ``StopDownload``). Placed above
HttpCompressionMiddleware, it inflates a compressed robots.txt itself (gzip,
deflate, br, zstd), up to the same cap, and hands on the plain text. A cut
robots.txt ends at its last whole line within the cap, so that no rule is
read half.

Failure modes: a compressed robots.txt that is corrupt after some bytes keeps
the rules read before the damage; an encoding it does not know is passed on
as it came (cut to the cap), for HttpCompressionMiddleware to report.

Counter: ``stdcrawl/robotstxt/cut`` (and an INFO line) when a robots.txt was cut.
"""

from __future__ import annotations

import importlib
import logging
import sys
import zlib
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached


logger = logging.getLogger(__name__)

_MARK = "_stdcrawl_robotstxt_bytes"  # request.meta: body bytes received so far, on a robots.txt request
_CHUNK = 64 * 1024


class UnknownEncoding(ValueError):
    """A Content-Encoding this module cannot inflate."""


def is_robots_request(request: Request) -> bool:
    return bool(request.meta.get("dont_obey_robotstxt")) and urlparse_cached(request).path == "/robots.txt"


def _zlib_prefix(data: bytes, limit: int, wbits: int) -> bytes:
    """Inflate at most ``limit + 1`` bytes of a zlib, gzip (several members too) or raw deflate stream."""
    out = bytearray()
    inflater = zlib.decompressobj(wbits)
    pending = memoryview(data)
    try:
        while pending and len(out) <= limit:
            chunk, pending = pending[:_CHUNK], pending[_CHUNK:]
            out += inflater.decompress(chunk, limit + 1 - len(out))
            while inflater.unconsumed_tail and len(out) <= limit:
                out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
            if inflater.eof:
                if not inflater.unused_data.strip(b"\0"):  # the stream ended (padding after it is no member)
                    break
                pending = memoryview(inflater.unused_data + bytes(pending))  # the next gzip member
                inflater = zlib.decompressobj(wbits)
    except zlib.error:
        if not out:
            raise
    return bytes(out)


def _brotli_prefix(data: bytes, limit: int) -> bytes:
    try:
        brotli = importlib.import_module("brotli")
    except ImportError:  # Scrapy depends on one of the two
        brotli = importlib.import_module("brotlicffi")
    inflater = brotli.Decompressor()
    try:
        out = bytearray(inflater.process(data, output_buffer_limit=limit + 1))
        while len(out) <= limit and not inflater.is_finished():
            more = inflater.process(b"", output_buffer_limit=limit + 1 - len(out))
            if not more:
                break
            out += more
    except brotli.error:
        return b""
    return bytes(out)


def _zstd_prefix(data: bytes, limit: int) -> bytes:
    if sys.version_info >= (3, 14):
        from compression import zstd
    else:
        from backports import zstd  # Scrapy's dependency before Python 3.14
    inflater = zstd.ZstdDecompressor()
    out = bytearray()
    try:
        out += inflater.decompress(data, max_length=limit + 1)
        while len(out) <= limit and not inflater.eof and not inflater.needs_input:
            out += inflater.decompress(b"", max_length=limit + 1 - len(out))
    except zstd.ZstdError:
        if not out:
            return b""
    return bytes(out)


def _inflate_prefix(data: bytes, encoding: bytes, limit: int) -> bytes:
    if encoding in (b"gzip", b"x-gzip"):
        return _zlib_prefix(data, limit, 32 + zlib.MAX_WBITS)  # gzip, or zlib sent as gzip
    if encoding == b"deflate":
        try:
            return _zlib_prefix(data, limit, zlib.MAX_WBITS)
        except zlib.error:  # raw deflate, as some servers send it
            return _zlib_prefix(data, limit, -zlib.MAX_WBITS)
    if encoding == b"br":
        return _brotli_prefix(data, limit)
    if encoding == b"zstd":
        return _zstd_prefix(data, limit)
    if encoding == b"identity":
        return data[: limit + 1]
    raise UnknownEncoding(encoding.decode("latin-1"))


def read_prefix(body: bytes, content_encoding: list[bytes], limit: int) -> tuple[bytes, bool]:
    """The first ``limit`` bytes of a body once its Content-Encoding layers are undone, and whether there was more.

    Every layer is inflated only up to the cap, so a decompression bomb costs
    ``limit`` bytes of memory. Raises :class:`UnknownEncoding` for an encoding
    it cannot undo; a stream corrupt from its first byte reads as empty.
    """
    layers = [e.strip().lower() for value in content_encoding for e in value.split(b",") if e.strip()]
    cut = False
    for encoding in reversed(layers):  # the last encoding applied is undone first
        try:
            body = _inflate_prefix(body, encoding, limit)
        except zlib.error:
            body = b""
        cut = cut or len(body) > limit
    if len(body) > limit:
        cut = True
    return body[:limit], cut


def whole_lines(text: bytes) -> bytes:
    """``text`` up to its last line break: a rule cut in two is not a rule."""
    end = max(text.rfind(b"\n"), text.rfind(b"\r"))
    return text[: end + 1]


class RobotsTxtCapMiddleware:
    """Read robots.txt up to ``STDCRAWL_MAX_ROBOTSTXT_BYTES``, inflating it only that far (module docstring)."""

    def __init__(self, crawler: Crawler, limit: int) -> None:
        self.crawler = crawler
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        mw = cls(crawler, crawler.settings.getint("STDCRAWL_MAX_ROBOTSTXT_BYTES"))
        crawler.signals.connect(mw.bytes_received, signal=signals.bytes_received)
        return mw

    def process_request(self, request: Request) -> None:
        if _MARK in request.meta or is_robots_request(request):  # a redirect keeps its mark
            request.meta[_MARK] = 0
            # No size limit in the download handler: this middleware stops the download at its cap instead.
            request.meta["download_maxsize"] = 0

    def bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        if _MARK not in request.meta:
            return
        request.meta[_MARK] += len(data)
        if request.meta[_MARK] > self.limit:
            raise StopDownload(fail=False)  # the response goes on with what has arrived

    def process_response(self, request: Request, response: Response) -> Response:
        if _MARK not in request.meta:
            return response
        del request.meta[_MARK]
        encodings = response.headers.getlist(b"Content-Encoding")
        headers = response.headers.copy()
        try:
            body, cut = read_prefix(response.body, encodings, self.limit)
            headers.pop(b"Content-Encoding", None)
        except UnknownEncoding:
            body, cut = response.body[: self.limit], len(response.body) > self.limit
        cut = cut or "download_stopped" in response.flags
        if cut:
            body = whole_lines(body)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("stdcrawl/robotstxt/cut")
            logger.info(
                "robots.txt at %s is larger than STDCRAWL_MAX_ROBOTSTXT_BYTES=%d: its first %d bytes are obeyed, "
                "the rest is ignored",
                request.url, self.limit, len(body),
            )
        return response.replace(body=body, headers=headers)
