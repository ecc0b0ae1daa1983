"""The WARC archive: every response a run received for a list or article page, kept as it came.

So that history can be extracted again without touching the site. Pure of
Scrapy: bytes and tuples in (:class:`Exchange`), locations out (:class:`Stored`).

    <lake root>/stdaily/warc/dt=YYYY-MM-DD/run=<run id>/00000.warc.gz, 00001.warc.gz, ...

- :class:`RunArchive` (``writer``) writes one run's files: WARC/1.1, a gzip
  member per record, a ``warcinfo`` record first in each file, rolled at a size
  the caller gives, renamed into place only when closed. Each exchange is a
  ``request`` record and a ``response`` record linked by ``WARC-Concurrent-To``;
  a payload already archived for the URL becomes a ``revisit`` record
  (identical-payload-digest) with headers only. Errors and redirects are
  archived like any response.
- :func:`iter_responses`, :func:`read_response`, :func:`read_provenance`
  (``reader``) read responses back, revisits resolved, by file or by offset.
- :func:`check` (``check``) lists what is wrong with a file, for ``lake verify``.
- :func:`recover` / :func:`remove_temporaries` finish or clear what a dead run left.

What "as received" means here: the body as the downloader handed it over,
before Scrapy's HttpCompressionMiddleware (a gzip Content-Encoding stays gzip,
a GBK page stays GBK); chunked Transfer-Encoding is already undone by then,
so that header is left out. Payload digests are SHA-1 of that body, base32.
Records and their gzip framing are written and read by fastwarc (pinned); :mod:`~stdcrawl.archive.encoding`
builds an exchange's records apart from the writer, so a worker process can do it.
"""

from __future__ import annotations

from stdcrawl.archive.check import check
from stdcrawl.archive.reader import ArchivedResponse, NamedSource, Source, iter_responses, read_provenance, read_response
from stdcrawl.archive.records import (
    REVISIT_PROFILE,
    ArchivedFile,
    ArchiveError,
    Copy,
    Exchange,
    Stored,
    sha1_digest,
    warc_key,
)
from stdcrawl.archive.writer import RunArchive, recover, remove_temporaries, temporaries

__all__ = [
    "REVISIT_PROFILE",
    "ArchiveError",
    "ArchivedFile",
    "ArchivedResponse",
    "Copy",
    "Exchange",
    "NamedSource",
    "RunArchive",
    "Source",
    "Stored",
    "check",
    "iter_responses",
    "read_provenance",
    "read_response",
    "recover",
    "remove_temporaries",
    "sha1_digest",
    "temporaries",
    "warc_key",
]
