"""Run `stdcrawl reextract` with every article page extracted before the run starts: the machinery's own cost.

    python bench/_extracted_in_advance.py WARC_FOLDER -- [stdcrawl reextract arguments]

For bench/reextract_cost.py only: the article pages of the archive are read
and extracted first (not timed by the run), then the spider's extractor is
replaced by a lookup of those results, so the run's time per page is what
Scrapy's engine, the middlewares, the spider, the pipelines, the export and
the state cost without extraction. A benchmark patch, like tests/crash.py: no
hook in production code. The pages are read in the crawler's own process
(``STDCRAWL_EXTRACT_WORKERS=0``), where the lookup is.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from stdcrawl import cli
from stdcrawl.archive import iter_responses
from stdcrawl.archive.index import page_key
from stdcrawl.extract import NotAnArticle, extract_article
from stdcrawl.record import Article
from stdcrawl import readers
from stdcrawl.urls import canonicalize, parse_article_url


def main() -> int:
    folder, rest = Path(sys.argv[1]), sys.argv[3:]
    done: dict[str, Article | NotAnArticle] = {}
    for page in iter_responses(sorted(folder.rglob("*.warc.gz"))):
        url = canonicalize(page_key(page.url))
        if url and parse_article_url(url):
            try:
                done[url] = extract_article(page.decoded_body(), url, content_type=page.header("Content-Type"))
            except NotAnArticle as exc:
                done[url] = exc

    def looked_up(html: Any, url: str, **kwargs: Any) -> Article:
        found = done.get(url)
        if found is None:
            return extract_article(html, url, **kwargs)
        if isinstance(found, NotAnArticle):
            raise found
        return replace(found, aliases=list(found.aliases), images=[dict(i) for i in found.images])  # type: ignore[misc]

    readers._READERS["article"] = looked_up  # what the crawler's readers call for an article page
    return cli.main(["reextract", *rest, "-s", "STDCRAWL_EXTRACT_WORKERS=0"])


if __name__ == "__main__":
    sys.exit(main())
