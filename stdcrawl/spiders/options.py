"""A crawl's arguments and settings, parsed and checked into one value object.

Arguments (``-a``): ``channel`` (the ``stdaily`` spider only; a name or slug),
``since`` / ``until`` (YYYY-MM-DD: backfill a date range, by the date in the
URL; G1b URLs only carry the month), ``full_refresh`` (true: fetch every
article again; only new or changed ones are exported). Any other argument is
bad usage, with the nearest known one suggested (``sinse`` -> ``since``);
``_job`` is accepted (scrapyd passes it). Settings read here:
``STDCRAWL_SITE_URL``, ``STDCRAWL_WEB_NODE_ID``, ``STDCRAWL_RECHECK_DAYS``,
``STDCRAWL_KNOWN_STREAK``, ``STDCRAWL_MAX_LIST_PAGES``, ``STDCRAWL_NOW``,
``STDCRAWL_SAMPLE_URLS`` (already validated by :mod:`stdcrawl.config`).

:func:`parse` raises :class:`UsageError` with a one-line message; the spider
reports it as bad usage and closes before its first request, and ``stdcrawl
crawl`` checks the same before it starts Scrapy at all.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any

from stdcrawl.channels import CHANNELS, Channel, find_channel
from stdcrawl.urls import SiteMap

ARGUMENTS = ("channel", "since", "until", "full_refresh")
ACCEPTED = frozenset({*ARGUMENTS, "_job"})  # scrapyd passes _job to every spider


class UsageError(ValueError):
    """A bad argument or setting; ``str(exc)`` is one line."""


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    channel: Channel
    since: dt.date | None
    until: dt.date | None
    full_refresh: bool
    site: SiteMap
    web_node: str | None
    recheck: dt.timedelta
    known_streak: int
    max_list_pages: int
    now: dt.datetime
    sample_urls: int


def parse(spider: str, default_channel: str | None, args: dict[str, Any], settings: Any) -> CrawlOptions:
    """Check every argument and the spider's settings; the first problem raises :class:`UsageError`."""
    for name in args:
        if name not in ACCEPTED:
            hint = difflib.get_close_matches(name, ARGUMENTS, n=1, cutoff=0.6)
            raise UsageError(f"unknown spider argument -a {name}=...; " + (
                f"did you mean -a {hint[0]}=?" if hint else f"the arguments are: {', '.join(ARGUMENTS)}"))
    channel = _channel(spider, default_channel, args.get("channel"))
    since, until = _date("since", args.get("since")), _date("until", args.get("until"))
    if since and until and since > until:
        raise UsageError(f"since={since} is after until={until}")
    try:
        site = SiteMap(settings.get("STDCRAWL_SITE_URL") or "")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    node = str(settings.get("STDCRAWL_WEB_NODE_ID") or "").strip() or None
    if node and not node.isdigit():
        raise UsageError(f"STDCRAWL_WEB_NODE_ID must be a number, got {node!r}")
    now = settings.get("STDCRAWL_NOW")
    return CrawlOptions(
        channel=channel,
        since=since,
        until=until,
        full_refresh=_flag("full_refresh", args.get("full_refresh")),
        site=site,
        web_node=node,
        recheck=dt.timedelta(days=settings.getfloat("STDCRAWL_RECHECK_DAYS")),
        known_streak=settings.getint("STDCRAWL_KNOWN_STREAK"),
        max_list_pages=settings.getint("STDCRAWL_MAX_LIST_PAGES"),
        now=dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.UTC),
        sample_urls=settings.getint("STDCRAWL_SAMPLE_URLS"),
    )


def _channel(spider: str, default: str | None, value: str | None) -> Channel:
    names = ", ".join(c.name for c in CHANNELS)
    if default and value and find_channel(value) != find_channel(default):
        raise UsageError(f"the {spider!r} spider crawls {default} only; use `scrapy crawl stdaily -a channel={value}` for another channel")
    value = value or default
    if not value:
        raise UsageError(f"missing -a channel=NAME; one of: {names}")
    channel = find_channel(value)
    if channel is None:
        raise UsageError(f"unknown channel {value!r}; one of: {names}")
    return channel


def _date(name: str, value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name}={value!r} is not a date: expected YYYY-MM-DD") from None


def _flag(name: str, value: str | None) -> bool:
    if value is None or value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    raise UsageError(f"{name}={value!r}: expected true or false")
