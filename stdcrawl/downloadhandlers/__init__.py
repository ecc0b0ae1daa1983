"""Download handlers of stdcrawl: Scrapy's, with the bounds Scrapy lacks."""
