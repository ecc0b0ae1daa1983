"""Extraction: pure functions from a page's HTML and canonical URL to record fields.

No Scrapy import anywhere in this package: it runs on saved pages, in the
``stdcrawl extract`` command, in benchmarks and in the spiders alike.
"""

from stdcrawl.extract.article import NotAnArticle, damage, extract_article
from stdcrawl.extract.listing import ListEntry, Listing, NavLink, extract_listing, extract_navigation

__all__ = [
    "ListEntry",
    "Listing",
    "NavLink",
    "NotAnArticle",
    "damage",
    "extract_article",
    "extract_listing",
    "extract_navigation",
]
