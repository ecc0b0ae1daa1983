"""Downloader middlewares of stdcrawl. Their settings are checked with all the others in :mod:`stdcrawl.config`."""
