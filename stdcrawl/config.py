"""Every setting stdcrawl reads, typed and range-checked in one place, before a crawl starts.

The defaults live in :mod:`stdcrawl.settings` (the one source); this module
says what each ``STDCRAWL_*`` setting and each Scrapy setting the project
relies on may hold, and :func:`validate` checks a whole settings object:

- every value parses (``STDCRAWL_KNOWN_STREAK=abc``) and is in range
  (``-1``, ``nan``, ``1e10``), and is written back parsed, so components read
  it with ``settings.getint(name)`` and never repeat a default;
- an unknown ``STDCRAWL_*`` name is an error with the nearest known name
  suggested (``STDCRAWL_DATA_DIRR`` -> ``STDCRAWL_DATA_DIR``);
- a URL with credentials in it is refused and shown redacted (credentials go
  in the AWS environment, never in a URL that is logged).

Problems come back as one line each, never holding a secret. ``stdcrawl
crawl`` prints them and exits 2 before any crawler exists; under plain
``scrapy crawl`` the add-on records them and the spider closes with
``usage_error`` before its first request. :func:`help_text` renders the same
definitions for ``stdcrawl crawl --help``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from stdcrawl import settings as defaults_module
from stdcrawl.urls import redact

Parser = Callable[[Any], Any]

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class BadSetting(ValueError):
    """A value that cannot be used; ``str(exc)`` says why, without the value when it may hold a secret."""


# -- parsers: value in, parsed value out, BadSetting with a reason otherwise ------------------


def integer(low: int | None = None, high: int | None = None) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise BadSetting("expected a whole number")
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise BadSetting("expected a whole number") from None
        _in_range(number, low, high)
        return number

    parse.kind = _range_text("a whole number", low, high)  # type: ignore[attr-defined]
    return parse


def number(low: float | None = None, high: float | None = None) -> Parser:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise BadSetting("expected a number")
        try:
            parsed = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        except ValueError:
            raise BadSetting("expected a number") from None
        if not math.isfinite(parsed):
            raise BadSetting("expected a finite number")
        _in_range(parsed, low, high)
        return parsed

    parse.kind = _range_text("a number", low, high)  # type: ignore[attr-defined]
    return parse


def _in_range(value: float, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadSetting(f"must be {_range_text('', low, high).strip()}")


def _range_text(kind: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{kind} from {_n(low)} to {_n(high)}"
    if low is not None:
        return f"{kind} of at least {_n(low)}"
    if high is not None:
        return f"{kind} of at most {_n(high)}"
    return kind


def _n(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BadSetting("expected true or false")


boolean.kind = "true or false"  # type: ignore[attr-defined]


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


text.kind = "text"  # type: ignore[attr-defined]


def nonempty_path(value: Any) -> str:
    path = text(value)
    if not path:
        raise BadSetting("must not be empty (leave it unset for the default)")
    return path


nonempty_path.kind = "a path"  # type: ignore[attr-defined]


def optional_path(value: Any) -> str:
    return text(value)


optional_path.kind = "a path, or empty"  # type: ignore[attr-defined]


def safe_name(value: Any) -> str:
    name = text(value)
    if name and not SAFE_NAME.fullmatch(name):
        raise BadSetting("use letters, digits, '.', '_' and '-' only (at most 64)")
    return name


safe_name.kind = "a name of letters, digits, '.', '_', '-'"  # type: ignore[attr-defined]


def digits(value: Any) -> str:
    node = text(value)
    if node and not node.isdigit():
        raise BadSetting("must be a number")
    return node


digits.kind = "a number, or empty"  # type: ignore[attr-defined]


def http_url(*, empty: bool = True, root_only: bool = False) -> Parser:
    def parse(value: Any) -> str:
        url = text(value).rstrip("/") if root_only else text(value)
        if not url:
            if empty:
                return ""
            raise BadSetting("must not be empty")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise BadSetting("is not a URL: expected http://host:port") from None
        if parts.username or parts.password:
            raise BadSetting("must not hold credentials: give them in the environment")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadSetting("must look like http://host:port")
        if root_only and parts.path not in ("", "/"):
            raise BadSetting("must look like http://host:port, with no path")
        del port
        return url

    parse.kind = "an http(s) URL"  # type: ignore[attr-defined]
    return parse


def iso_time(value: Any) -> str:
    when = text(value)
    if not when:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(when)
    except ValueError:
        raise BadSetting("is not an ISO 8601 time (2026-11-21T23:00:00+08:00)") from None
    if parsed.tzinfo is None:
        raise BadSetting("needs a UTC offset (2026-11-21T23:00:00+08:00)")
    if not dt.datetime(2021, 1, 1, tzinfo=dt.UTC) <= parsed <= dt.datetime(2100, 1, 1, tzinfo=dt.UTC):
        raise BadSetting("must lie between 2021 (the English edition began) and 2100")
    return when


iso_time.kind = "an ISO 8601 time with offset, or empty"  # type: ignore[attr-defined]


def lake_uri(value: Any) -> str:
    from stdcrawl.lake import LakeURI, LakeURIError

    uri = text(value)
    if not uri:
        return ""
    try:
        LakeURI.parse(uri)
    except LakeURIError as exc:
        raise BadSetting(exc.reason) from None
    return uri


lake_uri.kind = "a local path or s3://bucket/prefix, or empty"  # type: ignore[attr-defined]


def names(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


names.kind = "names, comma-separated"  # type: ignore[attr-defined]


def warc_paths(value: Any) -> list[str]:
    """Local WARC files of a lake's archive, each path ending in its key (stdaily/warc/dt=.../run=.../N.warc.gz)."""
    from stdcrawl.archive.index import lake_key

    given = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(",") if v.strip()]
    found = [str(v).strip() for v in given if str(v).strip()]
    if bad := [p for p in found if lake_key(p) is None]:
        raise BadSetting(f"{bad[0]!r} does not end in a WARC key of the lake (stdaily/warc/dt=YYYY-MM-DD/run=RUN/N.warc.gz)")
    return found


warc_paths.kind = "WARC files of a lake's archive"  # type: ignore[attr-defined]


def choice(*options: str, upper: bool = False) -> Parser:
    def parse(value: Any) -> str:
        picked = text(value).upper() if upper else text(value)
        if picked not in options:
            raise BadSetting(f"must be one of {', '.join(options)}")
        return picked

    parse.kind = "one of " + ", ".join(options)  # type: ignore[attr-defined]
    return parse


def http_codes(value: Any) -> list[int]:
    try:
        codes = [int(v) for v in (value if isinstance(value, (list, tuple)) else str(value).split(",")) if str(v).strip()]
    except ValueError:
        raise BadSetting("expected HTTP status codes, comma-separated") from None
    if any(not 100 <= c <= 599 for c in codes):
        raise BadSetting("expected HTTP status codes (100-599)")
    return codes


http_codes.kind = "HTTP status codes, comma-separated"  # type: ignore[attr-defined]


# -- the definitions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    parse: Parser
    help: str
    group: str
    internal: bool = False  # set by stdcrawl itself, not by users

    @property
    def default(self) -> Any:
        return getattr(defaults_module, self.name, None)

    @property
    def kind(self) -> str:
        return str(getattr(self.parse, "kind", ""))


def _defs() -> list[Setting]:
    crawl, state, lake, watch, polite, scrapy = "crawl", "state", "lake", "monitors", "politeness", "scrapy"
    return [
        Setting("STDCRAWL_DATA_DIR", nonempty_path, "where the state store, the spool, jobs and (by default) the lake live", crawl),
        Setting("STDCRAWL_SITE_URL", http_url(root_only=True), "send every request for a stdaily host to this base instead (a replica)", crawl),
        Setting("STDCRAWL_WEB_NODE_ID", digits, "the channel's /web/ node id, when the homepages' navigation does not link it", crawl),
        Setting("STDCRAWL_CONTACT_URL", http_url(), "named in the User-Agent so the site can reach whoever runs the crawl", crawl),
        Setting("STDCRAWL_STATS_FILE", optional_path, "write the run's final stats as JSON to this path", crawl),
        Setting("STDCRAWL_RECHECK_DAYS", number(0, 3650), "known articles younger than this many days are fetched again on each run", crawl),
        Setting("STDCRAWL_KNOWN_STREAK", integer(1, 100_000), "stop paging a list after this many known articles in a row", crawl),
        Setting("STDCRAWL_MAX_LIST_PAGES", integer(1, 1_000_000), "a list walk stops here whatever happens (the walk then counts as incomplete)", crawl),
        Setting("STDCRAWL_NOW", iso_time, "\"now\" for the re-check window, for replicas whose time is not today", crawl),
        Setting("STDCRAWL_JOB", safe_name, "a name for a resumable job (its queue is kept in <data dir>/jobs/<name>)", crawl),
        Setting("STDCRAWL_RUN_ID", safe_name, "names the run's folders in the lake (made up at start when empty)", crawl),
        Setting("STDCRAWL_SAMPLE_URLS", integer(0, 1000), "URLs named in the report per kind of trouble", crawl),
        Setting("STDCRAWL_PROGRESS_INTERVAL", number(0, 86400), "seconds between progress log lines when not on a terminal (0: off)", crawl),
        Setting("STDCRAWL_EXTRACT_WORKERS", integer(0, 64), "processes that read the pages, and build their WARC records, beside the crawler (0: in its own process)", crawl),
        Setting("STDCRAWL_GC_THRESHOLD", integer(0, 10_000_000), "new objects between runs of the garbage collector during a crawl (0: Python's own setting)", crawl),
        Setting("STDCRAWL_NEAR_DUPLICATE_BITS", integer(1, 31), "SimHash distance (of 64 bits) at which two texts are reported as near duplicates", crawl),
        Setting("STDCRAWL_STATE_PATH", optional_path, "the state store (default <data dir>/state.sqlite)", state),
        Setting("STDCRAWL_PENDING_RUNS", integer(1, 10_000), "an article that fails this many runs in a row is given up", state),
        Setting("STDCRAWL_LAKE_URI", lake_uri, "where runs land: a local path or s3://bucket/prefix (default <data dir>/lake)", lake),
        Setting("STDCRAWL_LAKE_BATCH_ITEMS", integer(1, 10_000_000), "records per lake part", lake),
        Setting("STDCRAWL_S3_ATTEMPTS", integer(1, 20), "attempts per S3 request before a part goes to the spool", lake),
        Setting("STDCRAWL_TABLE", boolean, "keep the current-articles Delta table (<lake>/stdaily/tables/articles) with every run", lake),
        Setting("STDCRAWL_ARCHIVE", boolean, "keep every response to a page the walk read as WARC in the lake (records name it in provenance)", lake),
        Setting("STDCRAWL_WARC_ROLL_SIZE", integer(64 * 1024, 1 << 40), "bytes at which a WARC file is closed and stored in the lake", lake),
        Setting("STDCRAWL_COVERAGE_FIELDS", names, "fields whose coverage is counted", watch),
        Setting("STDCRAWL_COVERAGE_TOLERANCE", number(0, 1), "a learnt field rate may drop this much below its usual value", watch),
        Setting("STDCRAWL_COVERAGE_MIN_ARTICLES", integer(0, 1_000_000), "fewer articles in a run are too few to judge rates", watch),
        Setting("STDCRAWL_HISTORY_RUNS", integer(1, 1000), "earlier runs the usual rates, counts and templates are learnt from", watch),
        Setting("STDCRAWL_DRIFT_MIN_PAGES", integer(0, 1_000_000), "drift counts up to this many pages never fail a run", watch),
        Setting("STDCRAWL_MAX_NOT_ARTICLE_RATE", number(0, 1), "share of article-shaped pages that may fail to read as articles", watch),
        Setting("STDCRAWL_TEMPLATE_CHANGE_SHARE", number(0, 1), "a page structure never seen in recent runs on this share of articles is reported as a template change", watch),
        Setting("STDCRAWL_MAX_EMPTY_LISTS", integer(0, 1000), "first list pages without article links, and lists not found, that a run tolerates", watch),
        Setting("STDCRAWL_MIN_ARTICLES_RATIO", number(0, 1), "a full run finds at least this share of what the last full runs found", watch),
        Setting("STDCRAWL_MAX_RETRY_AFTER", number(0, 86400), "the longest Retry-After waited for, in seconds", polite),
        Setting("STDCRAWL_MAX_CRAWL_DELAY", number(0, 86400), "the longest robots.txt Crawl-delay obeyed, in seconds", polite),
        Setting("STDCRAWL_MAX_HEADER_BYTES", integer(0, 1 << 30), "status line and headers of one response, in bytes; more fails it (0: no cap)", polite),
        Setting("STDCRAWL_MAX_ROBOTSTXT_BYTES", integer(1, 1 << 30), "robots.txt is read (inflated) up to this many bytes; the rest is ignored", polite),
        Setting("STDCRAWL_RUN_STARTED", text, "when the run started (set by stdcrawl)", crawl, internal=True),
        Setting("STDCRAWL_RUN_DATE", text, "the run's UTC date (set by stdcrawl)", crawl, internal=True),
        Setting("STDCRAWL_SETTINGS_ERRORS", names, "problems found in the settings (set by stdcrawl)", crawl, internal=True),
        Setting("STDCRAWL_JOB_RESTARTED", boolean, "the job had finished and starts afresh (set by stdcrawl)", crawl, internal=True),
        Setting("STDCRAWL_ADHOC", boolean, "feeds were given with -o/-O: no state, no lake (set by stdcrawl)", crawl, internal=True),
        Setting("STDCRAWL_REEXTRACT_WARC", warc_paths, "the WARC files stdcrawl reextract answers requests from (set by stdcrawl)", crawl, internal=True),
        # Scrapy's own settings that the project sets or relies on: a bad value would end in Scrapy's traceback.
        Setting("DOWNLOAD_DELAY", number(0, 3600), "seconds between two requests to the site", scrapy),
        Setting("CONCURRENT_REQUESTS", integer(1, 1000), "requests in flight at once", scrapy),
        Setting("CONCURRENT_REQUESTS_PER_DOMAIN", integer(1, 1000), "requests in flight at once to the site", scrapy),
        Setting("AUTOTHROTTLE_ENABLED", boolean, "adapt the delay to the site's latency", scrapy),
        Setting("AUTOTHROTTLE_START_DELAY", number(0, 3600), "AutoThrottle's first delay", scrapy),
        Setting("AUTOTHROTTLE_MAX_DELAY", number(0, 3600), "AutoThrottle's longest delay", scrapy),
        Setting("AUTOTHROTTLE_TARGET_CONCURRENCY", number(0.01, 1000), "AutoThrottle's target concurrency", scrapy),
        Setting("RETRY_ENABLED", boolean, "retry failed requests", scrapy),
        Setting("RETRY_TIMES", integer(0, 100), "retries per request", scrapy),
        Setting("DOWNLOAD_TIMEOUT", number(0.001, 86400), "seconds a download may take", scrapy),
        Setting("DOWNLOAD_MAXSIZE", integer(0, 1 << 40), "bytes a response body may have (0: no cap)", scrapy),
        Setting("DOWNLOAD_WARNSIZE", integer(0, 1 << 40), "bytes above which a response is logged as large", scrapy),
        Setting("CLOSESPIDER_TIMEOUT", number(0, 10 * 86400), "a backstop for the whole run, in seconds (0: none)", scrapy),
        Setting("ROBOTSTXT_OBEY", boolean, "obey robots.txt", scrapy),
        Setting("LOG_LEVEL", choice(*_LOG_LEVELS, upper=True), "log level", scrapy),
        Setting("CONCURRENT_ITEMS", integer(1, 10_000), "items processed at once per response", scrapy),
        Setting("SPIDERMON_MAX_ERRORS", integer(0, 1_000_000), "ERROR log lines a run tolerates", watch),
        Setting("SPIDERMON_UNWANTED_HTTP_CODES_MAX_COUNT", integer(0, 1_000_000), "5xx responses a run tolerates", watch),
        Setting("SPIDERMON_UNWANTED_HTTP_CODES", http_codes, "status codes counted as unwanted", watch),
        Setting("SPIDERMON_MAX_RETRIES", integer(0, 1_000_000), "requests given up after their retries that a run tolerates", watch),
        Setting("AWS_ENDPOINT_URL", http_url(), "an S3-compatible endpoint (MinIO, Ceph)", lake),
        Setting("AWS_REGION_NAME", text, "the S3 region", lake),
    ]


SETTINGS: dict[str, Setting] = {s.name: s for s in _defs()}
PREFIX = "STDCRAWL_"
# Secrets are moved into the environment by the add-on before anything validates or logs them.
_ACCEPTED_ELSEWHERE = frozenset({"STDCRAWL_SETTINGS_ERRORS"})


@dataclass(frozen=True, slots=True)
class Problem:
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


def suggest(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name.upper(), list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _shown(name: str, value: Any) -> str:
    shown = redact(str(value)) if isinstance(value, str) and "://" in value else str(value)
    return repr(shown if len(shown) <= 80 else shown[:77] + "...")


def validate(settings: BaseSettings, *, fix: bool = False) -> list[Problem]:
    """Every problem with ``settings``, one line each. With ``fix``, parsed values are written back
    and a bad value is replaced by its default, so that nothing downstream meets it."""
    problems: list[Problem] = []
    for name in settings:
        if name.startswith(PREFIX) and name not in SETTINGS:
            hint = suggest(name, (n for n in SETTINGS if n.startswith(PREFIX) and not SETTINGS[n].internal))
            problems.append(Problem(name, "unknown setting" + (f"; did you mean {hint}?" if hint else "")))
    for setting in SETTINGS.values():
        if setting.name in _ACCEPTED_ELSEWHERE or setting.name not in settings:
            continue
        value = settings[setting.name]
        try:
            parsed = setting.parse(value)
        except BadSetting as exc:
            problems.append(Problem(setting.name, f"{_shown(setting.name, value)} {exc}"))
            if fix:
                _put(settings, setting.name, setting.default)
            continue
        if fix and parsed != value:
            _put(settings, setting.name, parsed)
    return problems


def _put(settings: BaseSettings, name: str, value: Any) -> None:
    priority = settings.getpriority(name) or 0
    settings.set(name, value, priority=priority)


def help_text(group_titles: dict[str, str] | None = None) -> str:
    """The ``STDCRAWL_*`` settings with their defaults, grouped, for ``--help``."""
    titles = group_titles or {"crawl": "crawl", "state": "state store", "lake": "lake", "politeness": "politeness",
                              "monitors": "monitors"}
    lines = []
    for group, title in titles.items():
        rows = [s for s in SETTINGS.values() if s.group == group and s.name.startswith(PREFIX) and not s.internal]
        if not rows:
            continue
        lines.append(f"{title}:")
        for s in rows:
            default = s.default
            shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
            lines.append(f"  {s.name}={shown or '(empty)'}")
            lines.append(f"      {s.help}; {s.kind}")
    return "\n".join(lines)
