"""The replica's injected faults: what a faulty article answers, request by request.

Transient faults answer badly for the first hits and then serve the page, as a
retry within the run or the next run would find; the others answer badly as
long as the fault is on. Pure: the server turns the replies into bytes on the
wire (a reset connection, a short body, a stall).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stdcrawl.replica.model import ReplicaConfig
    from stdcrawl.replica.server import Reply

BOMB = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)  # about 250 KB that inflate to 256 MB
SPAM_REDIRECT = "http://www.stdaily-news.example"


def reply(fault: str, hits: int, path: str, page: Callable[[], str], config: ReplicaConfig) -> Reply | None:
    """The reply of a faulty article at its ``hits``-th request; None to serve the page as it is."""
    from stdcrawl.replica.server import Reply, _html

    html = _html(200, page())
    if fault == "5xx" and hits <= 2:
        return _html((500, 502, 503, 504)[(hits + len(path)) % 4], "<html><body>Server Error</body></html>")
    if fault == "5xx-retry-after" and hits <= 2:
        return replace(_html(503, "<html><body>Busy</body></html>"), headers=(("Retry-After", "1"),))
    if fault == "429" and hits <= 1:
        return replace(_html(429, "<html><body>Too Many Requests</body></html>"), headers=(("Retry-After", "1"),))
    if fault == "reset" and hits <= 2:
        return replace(html, transport="reset")
    if fault == "short" and hits <= 2:
        return replace(html, transport="short")
    if fault == "stall" and hits <= 1:
        return replace(html, stall=config.stall_seconds)
    if fault == "truncated" and hits <= 2:
        return replace(html, body=html.body[: len(html.body) // 2])
    if fault == "empty" and hits <= 2:
        return replace(html, body=b"")
    if fault == "soft404" and hits <= 2:
        return _html(200, "<html><head><title>Page not found</title></head><body><h1>Sorry, the page you "
                          "are looking for cannot be found.</h1><p>Return to the homepage.</p></body></html>")
    if fault == "charset":
        return replace(html, content_type="text/html; charset=ISO-8859-1")
    if fault == "malformed":
        body = html.body.replace(b"</p>", b"", 5).replace(b"<body", b"<body>\x00<div><span><b", 1)
        return replace(html, body=body)
    if fault == "oversize":
        return replace(html, body=html.body.replace(b"</body>", b"<!--" + b"x" * (2 * 1024 * 1024) + b"--></body>"))
    if fault == "gzip-bomb":
        return Reply(200, BOMB, "text/html; charset=utf-8", (("Content-Encoding", "gzip"),))
    if fault == "redirect-loop":
        return Reply(302, b"", "text/html", (("Location", path),))
    if fault == "redirect-offsite":
        return Reply(302, b"", "text/html", (("Location", SPAM_REDIRECT + path),))
    return None
