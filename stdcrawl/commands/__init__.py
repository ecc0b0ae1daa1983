"""Scrapy commands of stdcrawl, run by the ``stdcrawl`` CLI."""
