"""The replica's injected faults: the catalogue, and what a faulty path answers, request by request.

Every fault has a target (an article page, the G1b page of every twin, a list
page, robots.txt, or the site as a whole) and a healing rule: a *transient*
fault answers badly for its first ``heals_after`` hits on a path and then
serves the page, as a retry within the run would find; a *permanent* one
answers badly for as long as the fault is on. Either way the replica's truth
is that of the healed site (faults off). Which paths a config hits is
:attr:`.model.SiteModel.fault_paths`.

Pure: the router calls these with the hit count and a renderer of the page,
and :mod:`.server` turns the :class:`~.reply.Reply` into bytes on the wire (a
reset connection, a short body, a stall, streamed headers). The gzip bombs are
built on first use, in 1 MiB steps, and kept: about 250 KB each.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

from stdcrawl.replica.reply import Reply, html_reply, redirect

SPAM_REDIRECT = "http://www.stdaily-news.example"
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault of the catalogue: what it hits, what it answers, and whether it heals."""

    name: str
    target: str  # article | twin | list | robots | site
    what: str  # what the faulty path answers, in one line
    heals_after: int | None = None  # bad answers before the page is served; None: permanent
    chinese: bool = False  # needs an article that carries Chinese text
    redirects: bool = False  # sends the crawler to another listed article

    @property
    def transient(self) -> bool:
        return self.heals_after is not None

    @property
    def description(self) -> str:
        if self.heals_after is None:
            return f"{self.what} (permanent: as long as the fault is on)"
        times = {1: "once", 2: "twice"}.get(self.heals_after, f"{self.heals_after} times")
        return f"{self.what} (transient: {times}, then the page)"


_CATALOGUE = (
    Fault("5xx", "article", "500, 502, 503 or 504", 2),
    Fault("5xx-retry-after", "article", "503 with Retry-After: 1", 2),
    Fault("429", "article", "429 with Retry-After: 1", 1),
    Fault("reset", "article", "the connection reset in the middle of the body", 2),
    Fault("stall", "article", "no answer for stall_seconds (past the download timeout)", 1),
    Fault("short", "article", "a body shorter than its Content-Length", 2),
    Fault("truncated", "article", "half a page with a correct Content-Length", 2),
    Fault("empty", "article", "an empty 200", 2),
    Fault("soft404", "article", "a 200 'page not found' page", 2),
    Fault("charset", "article", "a charset header (ISO-8859-1) that contradicts the page's meta (UTF-8)"),
    Fault("malformed", "article", "unclosed tags, a NUL byte and decoy nesting in the page"),
    Fault("oversize", "article", "a page above 2 MB (run with a smaller DOWNLOAD_MAXSIZE)"),
    Fault("gzip-bomb", "article", "a gzip body that inflates to 256 MB"),
    Fault("redirect-loop", "article", "a 302 to itself"),
    Fault("redirect-offsite", "article", "a 302 to a spam host"),
    Fault("redirect-seen", "article", "a 302 to a newer listed article, one a crawler walking newest first has met", redirects=True),
    Fault("meta-refresh", "article", "a 200 whose only content is a meta refresh to a newer listed article", redirects=True),
    Fault("partial", "article", "a 206 with the first half of the page, Content-Length and Content-Range saying so", 2),
    Fault("huge-title", "article", "the page with a 1 MB title"),
    Fault("hostile-token", "article", "one more paragraph: a 2 MB token of letters with '?' every 60 characters"),
    Fault("hostile-paragraphs", "article", "2 MB of tiny <p> paragraphs after the body"),
    Fault("hostile-links", "article", "10,000 link lines after the body"),
    Fault("huge-headers", "article", "about header_mb MiB of response headers, streamed (a crawler must cut the connection)"),
    Fault("charset-gbk-as-utf8", "article", "a page with Chinese text in GBK bytes, meta GBK, HTTP header UTF-8", chinese=True),
    Fault("charset-utf8-as-gbk", "article", "a page with Chinese text in UTF-8 bytes, meta GBK, no charset in the header", chinese=True),
    Fault("twin-redirect", "twin", "the G1b page of every twin answers 301 to its G2 twin"),
    Fault("twin-500", "twin", "the G1b page of every twin answers 500"),
    Fault("list-empty", "list", "an empty 200 for a Cooperation list page (fault_list_page of fault_list_family)", 2),
    Fault("list-no-entries", "list", "a normal list page whose entries are gone: no article links", 2),
    Fault("list-oversize", "list", "a list page above 2 MB"),
    Fault("list-404", "list", "a list page answers 404"),
    Fault("list-redirect-home", "list", "a list page answers 302 to the homepage"),
    Fault("list-500", "list", "a list page answers 500"),
    Fault("list-repeat-last", "list", "every page past the last answers 200 with the last page's content, not 404"),
    Fault("robots-channel", "robots", "robots.txt disallows the channel's list pages"),
    Fault("robots-oversize", "robots", "robots.txt above 600 KiB, its rules (the robots-forbidden article's first) in the first 10 KiB"),
    Fault("robots-bomb", "robots", "robots.txt with Content-Encoding: gzip that inflates to 256 MB, its rules first"),
    Fault("nested-divs", "site", "one more listed page: 5 MB of nested divs"),
)

CATALOGUE: dict[str, Fault] = {f.name: f for f in _CATALOGUE}
# The faults the replica can inject (--faults), each with what it does and whether it heals.
FAULTS: dict[str, str] = {f.name: f.description for f in _CATALOGUE}

# The article page, rendered with hostile additions: title=, paragraph=, after_body=, charset=.
PageRenderer = Callable[..., str]


def article_reply(fault: str, hits: int, path: str, page: PageRenderer, *, target: str | None,
                  stall_seconds: float, header_mb: int) -> Reply | None:
    """The reply of a faulty article at its ``hits``-th request; None to serve the page as it is."""
    spec = CATALOGUE[fault]
    if spec.heals_after is not None and hits > spec.heals_after:
        return None
    if fault == "5xx":
        return html_reply((500, 502, 503, 504)[(hits + len(path)) % 4], "<html><body>Server Error</body></html>")
    if fault == "5xx-retry-after":
        return replace(html_reply(503, "<html><body>Busy</body></html>"), headers=(("Retry-After", "1"),))
    if fault == "429":
        return replace(html_reply(429, "<html><body>Too Many Requests</body></html>"), headers=(("Retry-After", "1"),))
    if fault == "soft404":
        return html_reply(200, "<html><head><title>Page not found</title></head><body><h1>Sorry, the page you "
                               "are looking for cannot be found.</h1><p>Return to the homepage.</p></body></html>")
    if fault == "gzip-bomb":
        return Reply(200, gzip_bomb(b"", b"\0"), "text/html; charset=utf-8", (("Content-Encoding", "gzip"),))
    if fault == "redirect-loop":
        return redirect(302, path)
    if fault == "redirect-offsite":
        return redirect(302, SPAM_REDIRECT + path)
    if fault == "redirect-seen" and target:
        return redirect(302, "http://stdaily.com" + target)  # another of the site's host forms
    if fault == "meta-refresh" and target:
        return html_reply(200, f'<html><head><meta http-equiv="refresh" content="0; url=https://www.stdaily.com{target}">'
                               "</head><body></body></html>")
    if fault == "charset-gbk-as-utf8":
        return Reply(200, page(charset="gbk").encode("gbk", errors="xmlcharrefreplace"), "text/html; charset=UTF-8")
    if fault == "charset-utf8-as-gbk":
        return Reply(200, page(charset="gbk").encode("utf-8"), "text/html")
    if fault == "huge-title":
        return html_reply(200, page(title=huge_title()))
    if fault == "hostile-token":
        return html_reply(200, page(paragraph=hostile_token()))
    if fault == "hostile-paragraphs":
        return html_reply(200, page(after_body=_tiny_paragraphs()))
    if fault == "hostile-links":
        return html_reply(200, page(after_body=_link_lines()))
    html = html_reply(200, page())
    if fault == "reset":
        return replace(html, transport="reset")
    if fault == "short":
        return replace(html, transport="short")
    if fault == "stall":
        return replace(html, stall=stall_seconds)
    if fault == "truncated":
        return replace(html, body=html.body[: len(html.body) // 2])
    if fault == "partial":
        half = html.body[: len(html.body) // 2]
        return replace(html, status=206, body=half, headers=(("Content-Range", f"bytes 0-{len(half) - 1}/{len(html.body)}"),))
    if fault == "empty":
        return replace(html, body=b"")
    if fault == "charset":
        return replace(html, content_type="text/html; charset=ISO-8859-1")
    if fault == "malformed":
        body = html.body.replace(b"</p>", b"", 5).replace(b"<body", b"<body>\x00<div><span><b", 1)
        return replace(html, body=body)
    if fault == "oversize":
        return replace(html, body=html.body.replace(b"</body>", b"<!--" + b"x" * (2 * MIB) + b"--></body>"))
    if fault == "huge-headers":
        return replace(html, pad_headers=header_mb * MIB)
    return None


def twin_reply(fault: str, g2_path: str) -> Reply:
    """The G1b page of a twin under a twin fault."""
    if fault == "twin-redirect":
        return redirect(301, g2_path)
    return html_reply(500, "<html><body>Internal Server Error</body></html>")


def list_reply(fault: str, hits: int, page: Callable[[bool], str], home: str, not_found: str) -> Reply | None:
    """The reply of a faulty list page; ``page(entries)`` renders it (for list-repeat-last: the last page)."""
    spec = CATALOGUE[fault]
    if spec.heals_after is not None and hits > spec.heals_after:
        return None
    if fault == "list-empty":
        return html_reply(200, "")
    if fault == "list-no-entries":
        return html_reply(200, page(False))
    if fault == "list-oversize":
        return html_reply(200, page(True).replace("</body>", "<!--" + "x" * (2 * MIB) + "--></body>"))
    if fault == "list-404":
        return html_reply(404, not_found)
    if fault == "list-redirect-home":
        return redirect(302, home)
    if fault == "list-500":
        return html_reply(500, "<html><body>Internal Server Error</body></html>")
    if fault == "list-repeat-last":
        return html_reply(200, page(True))
    return None


def robots_reply(fault: str | None, rules: str) -> Reply:
    """robots.txt: its rules as they are, or wrapped by a robots fault."""
    if fault == "robots-oversize":
        return Reply(200, (rules + _robots_padding(rules)).encode(), "text/plain; charset=utf-8")
    if fault == "robots-bomb":
        return Reply(200, gzip_bomb(rules.encode(), b"\n"), "text/plain; charset=utf-8",
                     (("Content-Encoding", "gzip"),))
    return Reply(200, rules.encode(), "text/plain; charset=utf-8")


@cache
def gzip_bomb(head: bytes, fill: bytes) -> bytes:
    """gzip of ``head`` then ``fill`` repeated to 256 MiB: about 250 KB on the wire."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    chunk = fill * (MIB // len(fill))
    parts = [deflate.compress(head)]
    parts += [deflate.compress(chunk) for _ in range(256)]
    parts.append(deflate.flush())
    return b"".join(parts)


def hostile_token() -> str:
    """2 MiB of letters without a space, a '?' every 60 characters (mirror damage run wild)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    block = "".join(letters[i % 26] for i in range(59)) + "?"
    return block * (2 * MIB // len(block) + 1)


def huge_title() -> str:
    """A headline of 1 MiB: words, spaces, no end."""
    words = "China and Partners Open a New Chapter of Sci-tech Cooperation "
    return (words * (MIB // len(words) + 1))[:MIB].strip()


def _tiny_paragraphs() -> str:
    tiny = "".join(f"<p>{w}</p>\n" for w in ("a", "b.", "1", "ok", "x", "-", "i", "z."))
    return tiny * (2 * MIB // len(tiny))


def _link_lines() -> str:
    lines = []
    for n in range(10_000):
        if n % 2:
            href = f"http://www.stdaily-news.example/web/English/2025-0{n % 9 + 1}/1{n % 9}/content_{300000 + n}.html"
        else:
            href = f"/web/English/zt/{n:05d}/index.html"
        lines.append(f'<p><a href="{href}">Related story {n}</a></p>')
    return "\n".join(lines)


def _robots_padding(rules: str) -> str:
    """More than 600 KiB of harmless rules and comments after the real ones."""
    lines = []
    size = len(rules)
    n = 0
    while size <= 640 * 1024:
        line = (f"Disallow: /English/search/archive/{n:06d}/\n" if n % 4 == 0
                else f"# archive shard {n:06d}: kept for the search index, not for crawlers\n")
        lines.append(line)
        size += len(line)
        n += 1
    return "".join(lines)
