"""Extraction: pure functions from a page's HTML and canonical URL to record fields.

No Scrapy import anywhere in this package: it runs on saved pages, in the
``stdcrawl extract`` command, in benchmarks and in the spiders alike.

Modules: ``page`` (decoding, charset, size cap, damage, the one parse and
read of a page), ``blocks`` (the one walk: visible lines), ``anchors`` (the
visible lines that anchor a page), ``selectors`` (the fast path),
``template`` (the template signature), ``article`` and ``listing`` (the
readers).
"""

from __future__ import annotations


from stdcrawl.extract.article import NotAnArticle, extract_article
from stdcrawl.extract.listing import ListEntry, Listing, NavLink, extract_listing, extract_navigation
from stdcrawl.extract.page import damage, decode_html

__all__ = [
    "ListEntry",
    "Listing",
    "NavLink",
    "NotAnArticle",
    "damage",
    "decode_html",
    "extract_article",
    "extract_listing",
    "extract_navigation",
]
