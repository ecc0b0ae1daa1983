"""Why a request failed, as a short reason, and whether that is trouble or an expected event.

:func:`reason` reads a Scrapy ``Failure`` (HTTP status, a refused redirect, the
size cap, robots.txt, a timeout, ...) and names it: ``http_404``,
``redirect_offsite``, ``too_large``, ``robots_txt``, ``TimeoutError``, ...
The spider's errbacks (one per page kind) decide what each reason means for
that kind of page; the run report puts expected events (a removed article, a
page robots.txt forbids) apart from errors. Pure: it needs no crawl.
"""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure


# Reasons that are the site's normal behaviour, not trouble: they never log a WARNING.
EXPECTED = frozenset({"robots_txt", "other_channel", "removed"})
GONE = frozenset({"http_404", "http_410"})


def reason(failure: Failure) -> str:
    """A short name for what went wrong."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(IgnoreRequest) and isinstance(getattr(failure.value, "reason", None), str):
        return str(failure.value.reason)  # ours say why: redirect_offsite, headers_too_large, retry_after_interrupted
    message = str(failure.value).lower()
    if "max size" in message or "maxsize" in message:  # DOWNLOAD_MAXSIZE, announced or reached while inflating
        return "too_large"
    if failure.check(IgnoreRequest):
        return "robots_txt" if "robots" in message else "ignored"
    return failure.type.__name__ if failure.type else "error"


def status(reason: str) -> int | None:
    """The HTTP status of an ``http_<status>`` reason."""
    return int(reason[5:]) if reason.startswith("http_") and reason[5:].isdigit() else None
