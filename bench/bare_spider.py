"""The baseline of the throughput benchmark: a bare Scrapy spider that fetches what stdcrawl fetches.

It follows the same links (homepage navigation by channel name, both list
families page by page, every article-shaped link of a list) and does nothing
with the pages: no extraction, no items, no pipelines, no feeds, no state.
Run it with `scrapy runspider` from outside the project so that no project
setting applies; pass the same concurrency settings as stdcrawl's run.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Request, Response

ARTICLE = re.compile(
    r"/English/[A-Za-z]+/(?:\d{4}-\d{2}/\d{2}/content_\d{7}\.shtml|\d{6}/[0-9a-f]{32}\.shtml)$"
    r"|/web/English/\d{4}-\d{2}/\d{2}/content_\d{6,7}\.html$"
)
LIST = re.compile(r"/English/[A-Za-z]+/common_list(?:_\d+)?\.shtml$|/web/English/node_\d+(?:_\d+)?\.html$")


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, site: str = "", channel: str = "Cooperation", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site = site.rstrip("/")
        self.channel = channel

    async def start(self) -> AsyncIterator[Any]:
        for home in ("/English/index.shtml", "/web/English/index.html"):
            yield Request(self.site + home, callback=self.parse_home)

    def parse_home(self, response: Response) -> Iterator[Request]:
        for link in response.css("a"):
            href = response.urljoin(link.attrib.get("href", ""))
            if link.css("::text").get("").strip() == self.channel and LIST.search(href):
                path = "/" + href.split("://", 1)[-1].split("/", 1)[1]
                yield Request(self.site + path, callback=self.parse_list, cb_kwargs={"page": 1})

    def parse_list(self, response: Response, page: int) -> Iterator[Request]:
        # The entries of the list only, not the "Top News" sidebar (the replica's list markup).
        links = [response.urljoin(h) for h in response.css(".list a::attr(href), .news-list a::attr(href)").getall()]
        articles = {re.sub(r"^https?://[^/]+", "", href.split("#")[0].split("?")[0]) for href in links}
        articles = {path for path in articles if ARTICLE.search(path) and "example" not in path}
        for path in sorted(articles):
            yield Request(self.site + path, callback=self.parse_article)
        if articles:
            base, ext = response.url.rsplit(".", 1)
            if page > 1:
                base = base.rsplit("_", 1)[0]  # node_410_2 -> node_410, common_list_2 -> common_list
            yield Request(f"{base}_{page + 1}.{ext}", callback=self.parse_list, cb_kwargs={"page": page + 1})

    def parse_article(self, response: Response) -> None:
        return None
