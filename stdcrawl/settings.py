"""Project settings: polite defaults for the live site.

stdcrawl's own settings are ``STDCRAWL_*`` with defaults here; any of them can
be overridden with ``-s NAME=VALUE``. Settings computed from others (the
User-Agent, the default feed) are filled in by :mod:`stdcrawl.addon`.
"""

BOT_NAME = "stdcrawl"
SPIDER_MODULES = ["stdcrawl.spiders"]
NEWSPIDER_MODULE = "stdcrawl.spiders"
ADDONS = {"stdcrawl.addon.StdcrawlAddon": 0}

# -- stdcrawl ---------------------------------------------------------------------------
# Where output goes (the default JSONL feed; later: state, lake, reports).
STDCRAWL_DATA_DIR = "data"
# Send every request for a stdaily host to this base instead (a replica), e.g. http://127.0.0.1:8000.
STDCRAWL_SITE_URL = ""
# The channel's /web/ node id, for when the homepages' navigation does not give it.
STDCRAWL_WEB_NODE_ID = ""
# Named in the User-Agent so the site's operators can reach whoever runs the crawl.
STDCRAWL_CONTACT_URL = "https://github.com/stdcrawl/stdcrawl"
# Write the run's final stats as JSON to this path (off when empty).
STDCRAWL_STATS_FILE = ""

EXTENSIONS = {"stdcrawl.extensions.statsfile.StatsFile": 500}

# -- politeness: one site, a few thousand pages, no hurry --------------------------------
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
COOKIES_ENABLED = False

# -- safety: no consoles or control servers listening during a crawl ----------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# -- output ------------------------------------------------------------------------------
FEED_EXPORT_ENCODING = "utf-8"
# A run with nothing new writes no file rather than an empty one.
FEED_STORE_EMPTY = False
LOG_LEVEL = "INFO"
