"""``stdcrawl reextract``: every request is answered from the WARC archive, and none reaches the network.

On only when ``STDCRAWL_REEXTRACT_WARC`` names WARC files (set by
:mod:`stdcrawl.commands.reextract`). Placed first of all (50), so its
``process_request`` runs before any other middleware's: a request for a page
the archive holds gets that page's **latest archived response** (status,
headers, the body as received; a revisit with its original's body; see
:class:`stdcrawl.archive.index.ArchiveIndex`), which then goes through every
middleware's ``process_response`` as a downloaded one would: redirects are
followed (to pages answered from the archive in turn), retries retried,
bodies decompressed, damaged pages judged. The response's ``meta["archived"]``
is the :class:`~stdcrawl.archive.Copy` its body was read from, so the record's
provenance names the original response record; the run's
:class:`~stdcrawl.extensions.warcarchive.WarcArchive` makes sure that file is
in the lake before a part naming it is committed.

A request for a URL the archive does not hold fails with :class:`NotArchived`
(reason ``not_archived``), which the spider's errbacks, the walk and the
report treat like any failure. Pages are found by their URL's path: the
archive holds one site, whichever host it was fetched from. Nothing is sent:
``stdcrawl reextract`` also replaces the HTTP download handlers with
:class:`~stdcrawl.downloadhandlers.offline.OfflineDownloadHandler`, which
refuses any request that got past this middleware.

Failure modes: a WARC file that cannot be read stops the run before its first
request (finish reason ``archive_unreadable``, one ERROR line); a record that
cannot be used is one WARNING and ``stdcrawl/reextract/unreadable``, and its page's older
copy is used if there is one. Counters: ``stdcrawl/reextract/answered``,
``stdcrawl/reextract/not_archived``, ``stdcrawl/reextract/files``, ``stdcrawl/reextract/runs``.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, IgnoreRequest, NotConfigured
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes

from stdcrawl import events
from stdcrawl.archive import ArchiveError
from stdcrawl.archive.index import ArchiveIndex, Entry, lake_key
from stdcrawl.downloadermiddlewares.archive import ARCHIVED
from stdcrawl.extensions.warcarchive import WarcArchive
from stdcrawl.paths import paths

logger = logging.getLogger(__name__)


class NotArchived(IgnoreRequest):
    """The archive holds no response for this URL (``reason``: ``not_archived``)."""

    reason = "not_archived"


def sources(files: list[str]) -> list[tuple[str, Path]]:
    """``(key, path)`` of WARC files given by path, in key order (dt, run, file number: the order they were written)."""
    found = {}
    for name in files:
        key = lake_key(name)
        if key is None:
            raise ValueError(f"{name} does not end in a WARC key of the lake (stdaily/warc/dt=YYYY-MM-DD/run=RUN/N.warc.gz)")
        found[key] = Path(name)
    return sorted(found.items())


def roots(files: list[tuple[str, Path]]) -> list[Path]:
    """The lake roots the files sit in (a path minus its key)."""
    out: list[Path] = []
    for key, path in files:
        root = Path(path.as_posix()[: -len(key)] or ".")
        if root not in out:
            out.append(root)
    return out


@functools.lru_cache(maxsize=4)
def load(files: tuple[str, ...], lake_root: str | None) -> tuple[ArchiveIndex, tuple[str, ...]]:
    """The index of these files, built once per process (the command and the middleware share it); and its problems.

    Originals of revisits outside the files are looked for under the files'
    own lake roots and the configured local lake root.
    """
    given = sources(list(files))
    places = [*roots(given), *([Path(lake_root)] if lake_root else [])]
    problems: list[str] = []

    def open_key(key: str) -> Path | None:
        return next((root / key for root in places if (root / key).is_file()), None)

    return ArchiveIndex(given, open_key=open_key, on_problem=problems.append), tuple(problems)


class ReplayMiddleware:
    """Answer every request from the archive; see the module docstring."""

    def __init__(self, crawler: Crawler, files: list[str]) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.files = files
        self.index: ArchiveIndex | None = None
        self.error: str | None = None
        self._archive: WarcArchive | None = None
        lake = paths(crawler.settings).lake
        try:
            self.index, problems = load(tuple(files), lake.prefix if lake.scheme == "file" else None)
        except (ArchiveError, ValueError) as exc:
            self.error = str(exc)
            return
        for problem in problems:
            logger.warning("Archived record not used: %s", problem)
            self.stats.inc_value(events.REEXTRACT_UNREADABLE)
        self.stats.set_value(events.REEXTRACT_FILES, len(files))
        self.stats.set_value(events.REEXTRACT_RUNS, sorted({k.split("/run=", 1)[1].split("/", 1)[0] for k, _ in sources(files)}))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        files = crawler.settings.getlist("STDCRAWL_REEXTRACT_WARC")
        if not files:
            raise NotConfigured
        mw = cls(crawler, files)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self) -> None:
        if self.error:
            logger.error("Cannot re-extract: %s", self.error)
            raise CloseSpider("archive_unreadable")
        assert self.index is not None
        logger.info("Re-extracting from %d WARC files: %d pages, %d records", len(self.files), self.index.pages,
                    self.index.records)
        self._archive = self.crawler.get_extension(WarcArchive)

    def process_request(self, request: Request) -> Response:
        entry = self.index.get(request.url) if self.index is not None else None
        if entry is None:
            self.stats.inc_value(events.REEXTRACT_NOT_ARCHIVED)
            raise NotArchived(f"not in the archive read: {request.url}")
        assert self.index is not None
        try:
            body = self.index.body(entry)
        except (ArchiveError, OSError) as exc:
            logger.warning("Archived page unreadable: %s", exc)
            self.stats.inc_value(events.REEXTRACT_UNREADABLE)
            self.stats.inc_value(events.REEXTRACT_NOT_ARCHIVED)
            raise NotArchived(f"its archived copy cannot be read: {request.url}") from None
        self.stats.inc_value(events.REEXTRACT_ANSWERED)
        request.meta[ARCHIVED] = entry.copy
        if self._archive is not None:
            self._archive.used(entry.copy.key, self.index.paths[entry.copy.key])
        return _response(request, entry, body)


def _response(request: Request, entry: Entry, body: bytes) -> Response:
    headers = Headers()
    for name, value in entry.headers:
        headers.appendlist(name, value)
    cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
    return cls(url=request.url, status=entry.status, headers=headers, body=body, flags=["archived"], request=request,
               protocol="HTTP/1.1")
