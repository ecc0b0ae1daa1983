"""A page that arrived damaged is retried; once the retries are spent it is passed on marked damaged.

Damage, by kind (the ``<kind>`` of the counters and of the retry reason
``damaged_<kind>``):

- ``empty``: a 2xx with an empty body;
- ``truncated``: an HTML document cut off before ``</html>``
  (:func:`stdcrawl.extract.damage` judges both);
- ``partial``: a ``206 Partial Content`` (we never ask for a range);
- ``short``: a 2xx whose body is shorter than its ``Content-Length``, as it
  came off the wire (a body inflated from a ``Content-Encoding`` is not
  compared with the length of its compressed form), or one the download
  handler flagged ``dataloss`` (``DOWNLOAD_FAIL_ON_DATALOSS`` off).

Pages are what the spider reads, list and article pages alike: responses to
anything but ``/robots.txt`` whose Content-Type, when given, is HTML. Images,
feeds and robots.txt are left alone.

A damaged page is retried through Scrapy's retry budget (``RETRY_TIMES``, the
``retry_times`` and ``max_retry_times`` meta, ``dont_retry``). When the budget
is spent, the response goes on with ``response.meta["damaged"]`` set to its
kind and a ``damaged`` flag: the spider must not export it as a complete page
(it marks the article pending). Placed below HttpCompressionMiddleware, so
that it reads decoded bodies; it learns the wire length of a body from the
``response_downloaded`` signal, sent before any middleware sees the response.

Counters: ``stdcrawl/download/damaged/<kind>`` (every damaged response),
``stdcrawl/download/damaged_passed_on/<kind>`` (retries spent, passed on).
"""

from __future__ import annotations

import logging
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from stdcrawl.extract import damage

logger = logging.getLogger(__name__)

DAMAGED = "damaged"  # the response.meta key (and flag) of a page passed on damaged
_WIRE = "_stdcrawl_wire_body"  # request.meta: (body bytes, Content-Length) as downloaded, when short
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def is_page(request: Request, response: Response) -> bool:
    """Whether the response is a page the spider reads (not robots.txt, not an image or other file)."""
    if urlparse_cached(request).path == "/robots.txt":
        return False
    content_type = response.headers.get(b"Content-Type")
    if not content_type:
        return True  # a damaged page may come without one
    return content_type.split(b";", 1)[0].strip().lower() in _HTML_TYPES


def damage_kind(response: Response, wire: tuple[int, int] | None = None) -> str | None:
    """The kind of damage of a page response to a GET (see the module docstring), or None when whole.

    ``wire`` is (body bytes, Content-Length) of the response as downloaded, when the body was shorter.
    """
    if not 200 <= response.status < 300:
        return None
    if response.status == 206:
        return "partial"
    if wire is not None or "dataloss" in response.flags:
        return "short"
    return damage(response.body)


class DamagedPageMiddleware:
    """Retry empty, cut-off, partial and short pages; mark them damaged when the retries are spent."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.response_downloaded, signal=signals.response_downloaded)
        return mw

    def process_request(self, request: Request) -> None:
        # A retry is a copy of its request, meta and all: each attempt starts without a verdict.
        request.meta.pop(_WIRE, None)
        request.meta.pop(DAMAGED, None)

    def response_downloaded(self, response: Response, request: Request) -> None:
        """Straight from the download handler, before HttpCompressionMiddleware inflates anything."""
        length = response.headers.get(b"Content-Length")
        if length is None or request.method == "HEAD" or not length.strip().isdigit():
            return
        if len(response.body) < int(length) and "download_stopped" not in response.flags:
            request.meta[_WIRE] = (len(response.body), int(length))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        wire = request.meta.pop(_WIRE, None)
        if request.method == "HEAD" or not is_page(request, response):
            return response
        kind = damage_kind(response, wire)
        if kind is None:
            return response
        stats = self.crawler.stats
        assert stats is not None and self.crawler.spider is not None
        stats.inc_value(f"stdcrawl/download/damaged/{kind}")
        detail = f" ({wire[0]} of {wire[1]} bytes)" if kind == "short" and wire else ""
        retry = None
        if not request.meta.get("dont_retry"):
            retry = get_retry_request(request, spider=self.crawler.spider, reason=f"damaged_{kind}")
        if retry is not None:
            logger.info("Damaged page (%s%s): %s: retried", kind, detail, request.url)
            return retry
        logger.warning("Damaged page (%s%s): %s: no retry left, passed on marked damaged", kind, detail, request.url)
        stats.inc_value(f"stdcrawl/download/damaged_passed_on/{kind}")
        request.meta[DAMAGED] = kind  # response.meta is its request's meta
        return response.replace(flags=[*response.flags, DAMAGED])
