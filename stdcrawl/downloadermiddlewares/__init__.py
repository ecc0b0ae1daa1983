"""Downloader middlewares of stdcrawl."""
