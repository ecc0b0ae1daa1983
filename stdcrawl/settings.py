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
# Where the state store, the spool, jobs and (by default) the lake live.
STDCRAWL_DATA_DIR = "data"
# Send every request for a stdaily host to this base instead (a replica), e.g. http://127.0.0.1:8000.
STDCRAWL_SITE_URL = ""
# The channel's /web/ node id, for when the homepages' navigation does not give it.
STDCRAWL_WEB_NODE_ID = ""
# Named in the User-Agent so the site's operators can reach whoever runs the crawl.
STDCRAWL_CONTACT_URL = "https://github.com/stdcrawl/stdcrawl"
# Write the run's final stats as JSON to this path (off when empty).
STDCRAWL_STATS_FILE = ""
# Where runs land: a local path or s3://bucket/prefix (empty: <STDCRAWL_DATA_DIR>/lake).
STDCRAWL_LAKE_URI = ""
# Records per lake part (part-00000.jsonl.gz, part-00001.jsonl.gz, ...).
STDCRAWL_LAKE_BATCH_ITEMS = 5000
# Attempts per S3 request before a part goes to the spool.
STDCRAWL_S3_ATTEMPTS = 3
# The state store: what earlier runs stored (default <STDCRAWL_DATA_DIR>/state.sqlite).
STDCRAWL_STATE_PATH = ""
# Known articles published less than this many days ago are fetched again on each run: edits come early.
STDCRAWL_RECHECK_DAYS = 3
# Articles a run could not get are fetched again by the next runs, this many at the most.
STDCRAWL_PENDING_RUNS = 5
# Stop paging a list after this many known articles in a row (lists are not strictly ordered).
STDCRAWL_KNOWN_STREAK = 10
# A backstop for one list walk: it stops here whatever happens, and counts as incomplete.
STDCRAWL_MAX_LIST_PAGES = 2000
# "Now" for the re-check window, ISO 8601 (empty: the clock). For replicas whose time is not today.
STDCRAWL_NOW = ""
# Processes that read (extract) the pages beside the crawler, so its own core is left to Scrapy,
# the pipelines and the export; 0 reads them in the crawler's process. The records are the same.
STDCRAWL_EXTRACT_WORKERS = 1
# Two texts whose SimHash fingerprints differ in at most this many of 64 bits are reported as near duplicates.
STDCRAWL_NEAR_DUPLICATE_BITS = 6
# A name for a resumable job (a long backfill): its queue is kept in <data dir>/jobs/<name>.
STDCRAWL_JOB = ""
# Unique per run (empty: made up at start); names the run's folders in the lake.
STDCRAWL_RUN_ID = ""
# Keep every response to a page the walk read as WARC in the lake (stdaily/warc/...): records say where (provenance).
STDCRAWL_ARCHIVE = True
# A WARC file is closed (and stored in the lake) once it reaches this many bytes.
STDCRAWL_WARC_ROLL_SIZE = 64 * 1024 * 1024
# Set by `stdcrawl reextract`: the WARC files to answer every request from (nothing goes to the network).
STDCRAWL_REEXTRACT_WARC: list[str] = []

# Keep the current-articles Delta table (<lake>/stdaily/tables/articles) with every run.
STDCRAWL_TABLE = True

# Scrapy's in-memory stats without its per-lookup deprecation shim (stdcrawl/stats.py).
STATS_CLASS = "stdcrawl.stats.StatsCollector"
# Scrapy components that do nothing for this crawl, yet run on every request or every output:
# no HTTP auth, no depth limit, URLs are matched by shape (stdcrawl.urls), meta copies are ours.
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}

# The interpreter's cyclic garbage collector runs every this many new objects, not 700, and
# leaves alone what is alive when the crawl starts (stdcrawl/extensions/collector.py); 0: Python's own.
STDCRAWL_GC_THRESHOLD = 10_000

EXTENSIONS = {
    "stdcrawl.extensions.collector.GarbageCollector": 10,
    "stdcrawl.extensions.progress.Progress": 50,
    "stdcrawl.extensions.crawldelay.CrawlDelay": 60,
    "stdcrawl.state.ledger.ExportLedger": 100,
    "stdcrawl.extensions.warcarchive.WarcArchive": 120,
    # Before LakeRuns finishes the run's folders: the report they carry says whether the table was updated.
    "stdcrawl.extensions.currenttable.CurrentTable": 140,
    # After the committer has exited, before the run's report is written.
    "stdcrawl.extensions.cputime.CpuTime": 145,
    "stdcrawl.extensions.lakeruns.LakeRuns": 150,
    "stdcrawl.extensions.monitoring.Monitoring": 200,
    "stdcrawl.extensions.jobs.FinishedJobs": 300,
    "stdcrawl.extensions.statsfile.StatsFile": 500,
}
ITEM_PIPELINES = {
    "stdcrawl.pipelines.clean.CleanPipeline": 100,
    "stdcrawl.pipelines.coverage.CoveragePipeline": 150,
    "stdcrawl.pipelines.validate.ValidatePipeline": 200,
    "stdcrawl.pipelines.dedupe.DedupePipeline": 300,
    "stdcrawl.pipelines.state.StatePipeline": 400,
}

# -- monitors (stdcrawl/monitors.py): a run that looks wrong fails -----------------------
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ("stdcrawl.monitors.RunMonitors",)
SPIDERMON_MAX_ERRORS = 5  # ERROR log lines
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished"]
SPIDERMON_UNWANTED_HTTP_CODES = [500, 502, 503, 504]
SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT = 20
SPIDERMON_MAX_RETRIES = 3  # requests given up after their retries
# Fields whose coverage is counted; title, published_at and body must be 100 %, the others are learnt.
STDCRAWL_COVERAGE_FIELDS = ["title", "published_at", "body", "authors", "images", "byline"]
STDCRAWL_COVERAGE_TOLERANCE = 0.15  # a learnt rate may drop this much below its usual value
STDCRAWL_COVERAGE_MIN_ARTICLES = 20  # fewer articles in a run: too few to judge rates
STDCRAWL_HISTORY_RUNS = 10  # earlier runs the usual rates and counts are learnt from
STDCRAWL_DRIFT_MIN_PAGES = 2  # drift counts up to this many pages never fail a run
STDCRAWL_MAX_NOT_ARTICLE_RATE = 0.05  # of the article pages fetched
# A page structure never seen in the last runs, on this share of a run's articles, is reported
# as a template change (a WARNING, a report line, a manifest field): it never fails a run by itself.
STDCRAWL_TEMPLATE_CHANGE_SHARE = 0.2
STDCRAWL_MAX_EMPTY_LISTS = 0  # first list pages without article links, lists not found
STDCRAWL_MIN_ARTICLES_RATIO = 0.8  # a full run finds at least this share of what the last full runs found
STDCRAWL_SAMPLE_URLS = 5  # URLs named in the report per kind of trouble

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
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    # First of all, and only in `stdcrawl reextract`: every request is answered from the WARC archive.
    "stdcrawl.downloadermiddlewares.replay.ReplayMiddleware": 50,
    # Above Scrapy's RetryMiddleware (550): a 429/503 with Retry-After pauses the site and is retried
    # after the wait; every other retry is Scrapy's.
    "stdcrawl.downloadermiddlewares.retryafter.RetryAfterMiddleware": 560,
    # Below HttpCompressionMiddleware (590): it reads decoded pages; an empty, cut-off or partial one is retried.
    "stdcrawl.downloadermiddlewares.damaged.DamagedPageMiddleware": 585,
    # Above HttpCompressionMiddleware (590): a compressed robots.txt is inflated here, up to its cap.
    "stdcrawl.downloadermiddlewares.robotstxtcap.RobotsTxtCapMiddleware": 595,
    # Above RedirectMiddleware (600): it sees a 3xx response before a redirect is built from it.
    "stdcrawl.downloadermiddlewares.redirectguard.RedirectGuardMiddleware": 650,
    # Next to the download handler: the final request headers, the response as received (WARC archive).
    "stdcrawl.downloadermiddlewares.archive.ArchiveMiddleware": 900,
}
# HTTP(S) as Scrapy downloads it, with the response headers capped like bodies.
DOWNLOAD_HANDLERS = {
    "http": "stdcrawl.downloadhandlers.http11.HeaderCappedHTTP11DownloadHandler",
    "https": "stdcrawl.downloadhandlers.http11.HeaderCappedHTTP11DownloadHandler",
}
STDCRAWL_MAX_RETRY_AFTER = 300  # seconds; a longer Retry-After is not waited for in this run
STDCRAWL_MAX_HEADER_BYTES = 256 * 1024  # status line and headers of one response; more fails it (headers_too_large)
STDCRAWL_MAX_ROBOTSTXT_BYTES = 500 * 1024  # robots.txt is read (inflated) up to this much; the rest is ignored
STDCRAWL_MAX_CRAWL_DELAY = 60  # seconds; a longer robots.txt Crawl-delay is capped here
# A backstop for the whole run: a live crawl of one channel takes minutes, never hours.
CLOSESPIDER_TIMEOUT = 4 * 3600
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
COOKIES_ENABLED = False
# Meta refreshes are followed by RedirectGuardMiddleware, which keeps them on the site (and says when they loop).
METAREFRESH_ENABLED = False

# -- safety: no consoles or control servers listening during a crawl ----------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# -- cost per page -----------------------------------------------------------------------
# Breadth first: a list page, its articles, the next page. Scrapy's LIFO default would walk
# every list before the first article and hold all their requests in memory meanwhile.
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
# Scrapy starts this many tasks for every response's output; a callback here yields one
# article or one list page's requests, and 100 (the default) costs more than the article.
CONCURRENT_ITEMS = 8
# Scrapy reads each callback's source to warn about `return` in generators: a debugging aid.
WARN_ON_GENERATOR_RETURN_VALUE = False

# -- progress ----------------------------------------------------------------------------
LOGSTATS_INTERVAL = 0  # replaced by stdcrawl's progress line (articles, not items)
STDCRAWL_PROGRESS_INTERVAL = 60  # seconds between progress log lines when not on a terminal

# -- output ------------------------------------------------------------------------------
# Feed parts are written whole or not at all, and say whether they were stored (the export ledger reads it).
FEED_STORAGES = {
    "": "stdcrawl.feeds.storages.LocalFeedStorage",
    "file": "stdcrawl.feeds.storages.LocalFeedStorage",
    "s3": "stdcrawl.feeds.storages.S3PartStorage",
}
FEED_EXPORTERS = {
    "jsonlines": "stdcrawl.feeds.exporters.RecordingJsonLinesExporter",
    "jsonl": "stdcrawl.feeds.exporters.RecordingJsonLinesExporter",
    "jl": "stdcrawl.feeds.exporters.RecordingJsonLinesExporter",
    "json": "stdcrawl.feeds.exporters.RecordingJsonExporter",
    "csv": "stdcrawl.feeds.exporters.RecordingCsvExporter",
    "xml": "stdcrawl.feeds.exporters.RecordingXmlExporter",
}
FEED_URI_PARAMS = "stdcrawl.feeds.uri_params"
LOG_FORMATTER = "stdcrawl.logformatter.LogFormatter"
FEED_EXPORT_ENCODING = "utf-8"
# A run with nothing new writes no file rather than an empty one.
FEED_STORE_EMPTY = False
LOG_LEVEL = "INFO"
