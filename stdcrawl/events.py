"""The stats counters stdcrawl writes: one vocabulary, named for events, never for methods.

Every component that counts imports its names from here, and so does every
reader (the run report, the manifest, the monitors, the progress line), so a
counter cannot be renamed on one side only. Names are
``stdcrawl/<component>/<event>``; a few take a last part (a reason, a field).
"""

from __future__ import annotations

from enum import Enum


class Page(str, Enum):
    """The kinds of page the spider fetches; each has its own errback and its own counters."""

    HOME = "homes"
    LIST = "lists"
    ARTICLE = "articles"


_SPIDER = "stdcrawl/spider/"


def failed(page: Page, reason: str) -> str:
    """A page of this kind could not be got, for this reason (``http_404``, ``robots_txt``, ...)."""
    return f"{_SPIDER}{page.value}/failed/{reason}"


def failed_prefix(page: Page) -> str:
    return f"{_SPIDER}{page.value}/failed/"


# -- spider: arguments and the walk ---------------------------------------------------------
USAGE_ERROR = _SPIDER + "usage_error"
FULL_RUN = _SPIDER + "full_run"  # every article fetched: comparable to earlier full runs
WALK_RESUMED = _SPIDER + "walk_resumed"  # the last walk was not complete: walking to the end
LISTS_FALLBACK = _SPIDER + "lists/fallback"  # a list not in the navigation, found by its known address
LISTS_NOT_FOUND = _SPIDER + "lists/not_found"
LIST_PAGES = _SPIDER + "lists/pages"
LIST_OFFSITE_LINKS = _SPIDER + "lists/offsite_links"
LIST_OTHER_LINKS = _SPIDER + "lists/other_links"
LIST_DUPLICATE_LINKS = _SPIDER + "lists/duplicate_links"
LIST_LABEL_MISMATCH = _SPIDER + "lists/label_mismatch"
LIST_EMPTY = _SPIDER + "lists/empty"  # a list page without article links
LIST_EMPTY_FIRST = _SPIDER + "lists/empty_first"  # ... on the first page: the markup changed
LIST_END = _SPIDER + "lists/end"  # a walk reached the list's proven end
LIST_STOPPED_AT_KNOWN = _SPIDER + "lists/stopped_at_known"
LIST_STOPPED_AT_SINCE = _SPIDER + "lists/stopped_at_since"
LIST_NOTHING_NEW = _SPIDER + "lists/nothing_new"  # a page that brought no entry the walk had not seen
LIST_INCOMPLETE = _SPIDER + "lists/incomplete"  # a walk that could not prove its end
LIST_PAGE_SKIPPED = _SPIDER + "lists/page_skipped"  # a page lost in the middle, the walk went on past it
WALK_INCOMPLETE = _SPIDER + "walk_incomplete"  # why this run's walk did not prove every list's end
ENTRIES = _SPIDER + "entries"
ENTRIES_DUPLICATE = _SPIDER + "entries/duplicate"
ENTRIES_KNOWN = _SPIDER + "entries/known"
ENTRIES_RECHECK = _SPIDER + "entries/recheck"
ENTRIES_PENDING = _SPIDER + "entries/pending"
ENTRIES_RECHECK_UNLISTED = _SPIDER + "entries/recheck_unlisted"
ENTRIES_BEFORE_SINCE = _SPIDER + "entries/before_since"
ENTRIES_AFTER_UNTIL = _SPIDER + "entries/after_until"
TWINS_PAIRED = _SPIDER + "twins/paired"
TWINS_MERGED = _SPIDER + "twins/merged"
TWINS_DIFFER = _SPIDER + "twins/differ"

# -- spider: articles ---------------------------------------------------------------------
ARTICLES_REQUESTED = _SPIDER + "articles/requested"
ARTICLES_UNACCOUNTED = _SPIDER + "articles/unaccounted"  # requests that ended in no outcome: a bug, loudly
ARTICLES_EXTRACTED = _SPIDER + "articles/extracted"
ARTICLES_NOT_ARTICLE = _SPIDER + "articles/not_article"
ARTICLES_OTHER_CHANNEL = _SPIDER + "articles/other_channel"
ARTICLES_UNKNOWN_LABEL = _SPIDER + "articles/unknown_label"
ARTICLES_REDIRECTED = _SPIDER + "articles/redirected"  # read at another URL of the site
ARTICLES_CHARSET_DAMAGE = _SPIDER + "articles/replacement_chars"  # pages with bytes no encoding read


EXTRACT_WORKER_DIED = "stdcrawl/extract/worker_died"  # an extraction worker process died; its pages were read again


def article_path(path: str) -> str:
    """Articles read by this extraction path (``selectors`` or ``text``)."""
    return f"{_SPIDER}articles/path/{path}"


def template(signature: str) -> str:
    """Articles found in the page structure with this signature."""
    return f"{_SPIDER}articles/template/{signature}"


TEMPLATE_PREFIX = _SPIDER + "articles/template/"
ARTICLE_PATH_PREFIX = _SPIDER + "articles/path/"

# -- what ended where: every article request ends in exactly one of these -----------------
# read (an item: then exported, unchanged or a duplicate, by the pipelines), pending, gone (a tombstone),
# skipped (another channel, robots.txt), merged (a twin's page whose story the other page carries).
OUTCOME_PREFIX = "stdcrawl/outcome/"
PENDING_ARTICLES = "stdcrawl/pending/articles"  # articles this run could not get: the next run tries again

# -- samples: a few URLs per kind of trouble, for the report ------------------------------


def samples(kind: str) -> str:
    return f"stdcrawl/samples/{kind}"


SAMPLES_PREFIX = "stdcrawl/samples/"

# -- pipelines ------------------------------------------------------------------------------
CLEAN_FIXED_PREFIX = "stdcrawl/clean/fixed/"
COVERAGE_ARTICLES = "stdcrawl/coverage/articles"


def coverage(field: str) -> str:
    return f"stdcrawl/coverage/{field}"


VALIDATE_REJECTED = "stdcrawl/validate/rejected"
DEDUPE_DUPLICATE_URL = "stdcrawl/dedupe/duplicate_url"
DEDUPE_DUPLICATE_CONTENT = "stdcrawl/dedupe/duplicate_content"
DEDUPE_DUPLICATE_PREFIX = "stdcrawl/dedupe/duplicate_"
DEDUPE_NEAR_DUPLICATE = "stdcrawl/dedupe/near_duplicate"
STATE_NEW = "stdcrawl/state/new"
STATE_REVISED = "stdcrawl/state/revised"
STATE_UNCHANGED = "stdcrawl/state/unchanged"
STATE_DELETED = "stdcrawl/state/deleted"
STATE_ADOPTED_ID = "stdcrawl/state/adopted_id"  # a known story met at another of its URLs
STATE_TOMBSTONE_NOT_NEEDED = "stdcrawl/state/tombstone_not_needed"

# -- the state store and its ledger -------------------------------------------------------
STATE_LOCKED = "stdcrawl/state/locked"
STATE_UNUSABLE = "stdcrawl/state/unusable"
STATE_COMMIT_FAILED = "stdcrawl/state/commit_failed"
STATE_PENDING_GIVEN_UP = "stdcrawl/state/pending_given_up"
EXPORT_COMMITTED = "stdcrawl/export/committed"
EXPORT_FAILED = "stdcrawl/export/failed"  # records of parts not stored
EXPORT_FAILED_PARTS = "stdcrawl/export/failed_parts"

# -- the lake -------------------------------------------------------------------------------
LAKE_ROOT = "stdcrawl/lake/root"
LAKE_RUN_FOLDER = "stdcrawl/lake/run_folder"
LAKE_PARTS_STORED = "stdcrawl/lake/parts_stored"
LAKE_PARTS_SPOOLED = "stdcrawl/lake/parts_spooled"
LAKE_INCOMPLETE = "stdcrawl/lake/incomplete"
LAKE_UNAVAILABLE = "stdcrawl/lake/unavailable"
LAKE_RUNS_RECOVERED = "stdcrawl/lake/runs_recovered"
LAKE_PARTS_RECOVERED = "stdcrawl/lake/parts_recovered"
LAKE_DEBRIS_REMOVED = "stdcrawl/lake/debris_removed"

# -- the current-articles table ------------------------------------------------------------
TABLE_VERSION = "stdcrawl/table/version"  # the table version holding this run's changes
TABLE_RUNS_COMMITTED = "stdcrawl/table/runs_committed"
TABLE_COMMIT_FAILED = "stdcrawl/table/commit_failed"
# -- the WARC archive (stdcrawl/downloadermiddlewares/archive.py, stdcrawl/extensions/warcarchive.py) --
ARCHIVE_RESPONSES = "stdcrawl/archive/responses"  # response records written (the payload in full)
ARCHIVE_REVISITS = "stdcrawl/archive/revisits"  # revisit records written (the payload archived already)
ARCHIVE_WRITE_FAILED = "stdcrawl/archive/write_failed"  # responses not archived: the file could not be written
ARCHIVE_REFUSED = "stdcrawl/archive/refused"  # responses not archived: not a well-formed HTTP exchange
ARCHIVE_FILES_STORED = "stdcrawl/archive/files_stored"
ARCHIVE_BYTES_STORED = "stdcrawl/archive/bytes_stored"
ARCHIVE_FILES_SPOOLED = "stdcrawl/archive/files_spooled"  # not stored: waiting in the spool for the next run
ARCHIVE_FILES_RECOVERED = "stdcrawl/archive/files_recovered"  # an earlier run's files, stored by this one
ARCHIVE_FILES_IMPORTED = "stdcrawl/archive/files_imported"  # files a reextract read from outside the lake, stored in it
ARCHIVE_DEBRIS_REMOVED = "stdcrawl/archive/debris_removed"

# -- stdcrawl reextract: pages answered from the archive (stdcrawl/downloadermiddlewares/replay.py) --
REEXTRACT_FILES = "stdcrawl/reextract/files"  # WARC files read
REEXTRACT_RUNS = "stdcrawl/reextract/runs"  # the runs they belong to
REEXTRACT_ANSWERED = "stdcrawl/reextract/answered"
REEXTRACT_NOT_ARCHIVED = "stdcrawl/reextract/not_archived"
REEXTRACT_UNREADABLE = "stdcrawl/reextract/unreadable"  # records that could not be used
REEXTRACT_REFUSED = "stdcrawl/reextract/refused"  # requests that would have reached the network

# -- the run's CPU time (stdcrawl/extensions/cputime.py), seconds -----------------------------
CPU_CRAWLER = "stdcrawl/cpu/crawler_seconds"  # the crawl's own process, start-up included
CPU_HELPERS = "stdcrawl/cpu/helpers_seconds"  # its extraction workers and the table's committer

# -- drift and monitors ---------------------------------------------------------------------
DRIFT_TEMPLATE_CHANGES = "stdcrawl/drift/template_changes"  # [{template, articles, samples}]
MONITORS_RESULTS = "stdcrawl/monitors/results"
MONITORS_PASSED = "stdcrawl/monitors/passed"
MONITORS_FAILED = "stdcrawl/monitors/failed"

# -- downloads --------------------------------------------------------------------------------
REDIRECT_PREFIX = "stdcrawl/redirect/"
POLITENESS_CRAWL_DELAY = "stdcrawl/politeness/crawl_delay"
