"""The site's URL shapes: canonical form, page generations, list paging.

Everything here is pure string work shared by the spiders, the extractors and
the replica. The shapes are the ones recorded in docs/site.md; a URL that matches
none of them is not something stdcrawl follows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urljoin, urlsplit, urlunsplit

CANONICAL_BASE = "https://www.stdaily.com"
SITE_HOSTS = frozenset({"www.stdaily.com", "stdaily.com", "m.stdaily.com"})

HOME_LEGACY = "/English/index.shtml"
HOME_WEB = "/web/English/index.html"


class Generation(str, Enum):
    """The four article URL generations of docs/site.md."""

    G1 = "G1"  # 2021: /English/<Folder>/YYYY-MM/DD/content_<7 digits>.shtml
    G1B = "G1b"  # 2022 - mid 2024: /English/<Folder>/YYYYMM/<32 hex>.shtml
    G2 = "G2"  # mid 2022 - mid 2024: /web/English/YYYY-MM/DD/content_19xxxxx.html
    G3 = "G3"  # late 2024 on: /web/English/YYYY-MM/DD/content_<6 digits>.html

    @property
    def family(self) -> str:
        """The template family: ``legacy`` (.shtml) or ``web`` (/web/)."""
        return "legacy" if self in (Generation.G1, Generation.G1B) else "web"


_ARTICLE_SHAPES: tuple[tuple[Generation, re.Pattern[str]], ...] = (
    (
        Generation.G1,
        re.compile(
            r"/English/(?P<folder>[A-Za-z]+)/(?P<y>\d{4})-(?P<m>\d{2})/(?P<d>\d{2})/"
            r"content_(?P<key>\d{7})\.shtml"
        ),
    ),
    (
        Generation.G1B,
        re.compile(r"/English/(?P<folder>[A-Za-z]+)/(?P<y>\d{4})(?P<m>\d{2})/(?P<key>[0-9a-f]{32})\.shtml"),
    ),
    (
        Generation.G2,
        re.compile(r"/web/English/(?P<y>\d{4})-(?P<m>\d{2})/(?P<d>\d{2})/content_(?P<key>\d{7})\.html"),
    ),
    (
        Generation.G3,
        re.compile(r"/web/English/(?P<y>\d{4})-(?P<m>\d{2})/(?P<d>\d{2})/content_(?P<key>\d{6})\.html"),
    ),
)

_LEGACY_LIST = re.compile(r"/English/(?P<folder>[A-Za-z]+)/common_list(?:_(?P<page>\d+))?\.shtml")
_WEB_LIST = re.compile(r"/web/English/node_(?P<node>\d+)(?:_(?P<page>\d+))?\.html")


@dataclass(frozen=True, slots=True)
class ArticleURL:
    """An article URL recognised by its shape."""

    url: str  # canonical
    generation: Generation
    key: str  # content id, or the 32-hex hash of G1b
    date: dt.date  # from the path; G1b paths only carry the month (day 1)

    @property
    def id(self) -> str:
        return f"stdaily:{self.key}"


@dataclass(frozen=True, slots=True)
class ListURL:
    """A channel list page: legacy ``common_list`` or ``/web/`` ``node_<id>``."""

    url: str  # canonical
    family: str  # "legacy" or "web"
    list_key: str  # folder name or node id
    page: int

    def page_url(self, page: int) -> str:
        """Canonical URL of another page of the same list."""
        if self.family == "legacy":
            name = "common_list.shtml" if page == 1 else f"common_list_{page}.shtml"
            return f"{CANONICAL_BASE}/English/{self.list_key}/{name}"
        name = f"node_{self.list_key}.html" if page == 1 else f"node_{self.list_key}_{page}.html"
        return f"{CANONICAL_BASE}/web/English/{name}"


# An absolute or scheme-relative link with a plain host (no port, no user): most of the site's links.
_ABSOLUTE = re.compile(r"(?:(https?):)?//([A-Za-z0-9.-]+)(/[^?#]*)?(?:[?#].*)?", re.IGNORECASE | re.DOTALL)
# A path relative to the base's folder ("common_list_3.shtml", "2024-05/08/content_123456.html").
_RELATIVE = re.compile(r"[^/:?#\\][^:?#\\]*(?:[?#].*)?", re.DOTALL)
_URL_NOISE = str.maketrans("", "", "\t\r\n")  # dropped from anywhere in a URL, as browsers and urlsplit do


def canonicalize(href: str, base: str | None = None) -> str | None:
    """Return ``https://www.stdaily.com/<path>`` for a link to the site, else None.

    ``href`` may be relative to ``base``. Links on any stdaily host over http or
    https are the same page (docs/site.md). Query and fragment are dropped.
    A list page carries a hundred links, so the common shapes are resolved by
    string work; the rest go through ``urljoin``, with the same result
    (tests/test_urls.py compares the two on every shape).
    """
    href = href.strip().translate(_URL_NOISE)
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:", "#")):
        return None
    if href.startswith("/") and not href.startswith("//"):
        # Root-relative, the common case on the site: no need to parse a whole URL,
        # unless dot segments need resolving.
        path = _collapse(href.split("#", 1)[0].split("?", 1)[0])
        if "/." not in path:
            return CANONICAL_BASE + path
        base = base or CANONICAL_BASE
    elif href.startswith("//"):
        base = base or CANONICAL_BASE  # scheme-relative: the host is given, the scheme does not matter
    if (absolute := _ABSOLUTE.fullmatch(href)) is not None:
        path = _collapse(absolute[3] or "/")
        web_base = not base or base.lower().startswith(("http:", "https:"))  # a scheme-relative link takes its scheme
        if "/." not in path and (absolute[1] or web_base):
            return CANONICAL_BASE + path if absolute[2].lower() in SITE_HOSTS else None
    elif base and base.startswith(CANONICAL_BASE + "/") and _RELATIVE.fullmatch(href):
        folder = base[len(CANONICAL_BASE) :].split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[0]
        path = folder + "/" + href.split("#", 1)[0].split("?", 1)[0]
        if "/." not in path:
            return CANONICAL_BASE + _collapse(path)
    return _canonicalize_slowly(href, base)


def _collapse(path: str) -> str:
    return re.sub(r"/{2,}", "/", path) if "//" in path else path


def _canonicalize_slowly(href: str, base: str | None) -> str | None:
    absolute = urljoin(base, href) if base else href
    try:
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    if host not in SITE_HOSTS:
        return None
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    return CANONICAL_BASE + path


def url_key(url: str) -> int:
    """A stable 64-bit key of a URL: sets of these stay small in a long run and survive a JOBDIR restart."""
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "big")


def path_of(canonical: str) -> str:
    return canonical[len(CANONICAL_BASE) :] if canonical.startswith(CANONICAL_BASE) else urlsplit(canonical).path


def parse_article_url(canonical: str) -> ArticleURL | None:
    """Recognise an article by its canonical URL's shape (G1, G1b, G2, G3)."""
    path = path_of(canonical)
    for generation, pattern in _ARTICLE_SHAPES:
        m = pattern.fullmatch(path)
        if not m:
            continue
        parts = m.groupdict()
        try:
            date = dt.date(int(parts["y"]), int(parts["m"]), int(parts.get("d") or 1))
        except ValueError:
            return None
        return ArticleURL(canonical, generation, parts["key"], date)
    return None


def parse_list_url(canonical: str) -> ListURL | None:
    """Recognise a channel list page (either family) and its page number."""
    path = path_of(canonical)
    if m := _LEGACY_LIST.fullmatch(path):
        return ListURL(canonical, "legacy", m["folder"], int(m["page"] or 1))
    if m := _WEB_LIST.fullmatch(path):
        return ListURL(canonical, "web", m["node"], int(m["page"] or 1))
    return None


class SiteMap:
    """Maps canonical URLs to the address actually fetched.

    ``base`` is ``STDCRAWL_SITE_URL``: empty for the live site, or e.g.
    ``http://127.0.0.1:8000`` to send every request for a stdaily host there.
    """

    def __init__(self, base: str = "") -> None:
        base = base.strip().rstrip("/")
        if base:
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ValueError(f"STDCRAWL_SITE_URL must look like http://host:port, got {base!r}")
        self.base = base

    @property
    def host(self) -> str:
        """Host name requests go to (for the offsite filter)."""
        return urlsplit(self.base).hostname or "" if self.base else "stdaily.com"

    def fetch_url(self, canonical: str) -> str:
        return self.base + path_of(canonical) if self.base else canonical

    def canonical(self, fetched: str) -> str | None:
        """The canonical URL of an address :meth:`fetch_url` made (or any stdaily URL), else None."""
        if self.base and fetched.startswith(self.base + "/"):
            return canonicalize(fetched[len(self.base) :])
        return canonicalize(fetched)

    def on_site(self, url: str) -> bool:
        """Whether ``url`` is on the site: any stdaily host, or the base requests are sent to."""
        host = (urlsplit(url).hostname or "").lower()
        return host in SITE_HOSTS or (bool(self.base) and host == self.host)


def redact(url: str) -> str:
    """``url`` with any user name and password replaced by ``***``: safe to print."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "***"
    if not (parts.username or parts.password):
        return url
    netloc = "***@" + (parts.hostname or "") + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
