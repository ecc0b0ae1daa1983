"""Run `stdcrawl crawl` with an extractor that reads bylines wrong, on purpose: the drift the archive repairs.

    python tests/misread.py -- [stdcrawl crawl arguments]

Every article is read as usual, then its byline is dropped and its ``parser``
says ``misread-v0``, as a real extractor might after a redesign. The patch is
made here, so production code carries no test hook (as in tests/crash.py); the
pages are read in the crawler's own process (``STDCRAWL_EXTRACT_WORKERS=0``),
where the patch is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from stdcrawl import cli
from stdcrawl.record import CONTENT_FIELDS, Article, content_hash
from stdcrawl import readers

MISREAD = "misread-v0"


def misread(html: Any, url: str, **kwargs: Any) -> Article:
    article = replace(extract(html, url, **kwargs), byline=None)
    generation = article.parser.split("/", 1)[0]
    # As an extractor does: the hash of what it read.
    article.content_hash = content_hash({name: getattr(article, name) for name in CONTENT_FIELDS})
    article.parser = f"{generation}/{MISREAD}/text"
    return article


extract: Callable[..., Article] = readers._READERS["article"]


def main() -> int:
    readers._READERS["article"] = misread  # what the crawler's readers call for an article page
    return cli.main(["crawl", *sys.argv[2:], "-s", "STDCRAWL_EXTRACT_WORKERS=0"])


if __name__ == "__main__":
    sys.exit(main())
