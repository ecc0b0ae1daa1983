"""Settings computed from other settings, and the one check of them all, applied after the command line's.

- Every setting is checked by :func:`stdcrawl.config.validate`; problems go to
  ``STDCRAWL_SETTINGS_ERRORS`` (the spider reports the first as bad usage and
  closes before its first request; ``stdcrawl crawl`` refuses them before Scrapy
  starts) and each bad value is replaced by its default, so nothing downstream
  meets it.
- ``STDCRAWL_RUN_ID``: unique per run, sortable: ``20261127T020304Z-1a2b3c``;
  ``STDCRAWL_RUN_STARTED`` and ``STDCRAWL_RUN_DATE`` (UTC) go with it.
- ``USER_AGENT``: ``stdcrawl/<version> (+STDCRAWL_CONTACT_URL)``, unless set.
- Scrapy's cookies middleware, telnet console and remote control, while their
  own setting is off, are left out of Scrapy's base lists: never imported.
- ``JOBDIR``: ``<data dir>/jobs/<STDCRAWL_JOB>`` when a job name is given: a
  long backfill stopped with Ctrl-C or SIGTERM resumes where it stopped; a
  job that finished starts afresh (:mod:`stdcrawl.extensions.jobs`).
- ``FEEDS``: when none is given, the lake's three datasets (see
  :mod:`stdcrawl.lake`): gzipped JSON lines in parts of
  ``STDCRAWL_LAKE_BATCH_ITEMS`` records. Feeds given with ``-o``/``-O`` or
  ``FEEDS`` make an **ad-hoc run** (``STDCRAWL_ADHOC``): they take articles and
  tombstones (unless they name ``item_classes``), and the run neither reads nor
  writes the state store or the lake, so it writes every article it finds and
  keeps no scheduled run from exporting them to the lake.

AWS credentials given as settings (``-s AWS_SECRET_ACCESS_KEY=...``) are moved
into the process environment, where boto3 finds them, before Scrapy logs the
settings it was given: no credential reaches a log, the stats or a report.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from stdcrawl import __version__, config
from stdcrawl.extensions.jobs import restart_finished
from stdcrawl.lake import DATASETS, LakeURI, part_template
from stdcrawl.paths import paths

ITEM_CLASSES = {
    "articles": ["stdcrawl.record.Article"],
    "tombstones": ["stdcrawl.record.Tombstone"],
    "rejects": ["stdcrawl.record.Rejected"],
}
SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Scrapy components that their own setting turns off (they raise NotConfigured), taken out of Scrapy's
# base lists while it is off so that their modules are never imported: the remote control brings
# aiohttp, the cookies middleware tldextract and requests, 0.3 CPU s and 12 MB at every start.
SWITCHED_OFF = (
    ("COOKIES_ENABLED", "DOWNLOADER_MIDDLEWARES", "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"),
    ("REMOTE_CONTROL_ENABLED", "EXTENSIONS", "scrapy.extensions.remote_control.RemoteControl"),
    ("TELNETCONSOLE_ENABLED", "EXTENSIONS", "scrapy.extensions.telnet.TelnetConsole"),
)


def new_run_id(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def lake_feeds(lake: LakeURI, batch: int, datasets: tuple[str, ...] = DATASETS) -> dict[str, dict[str, Any]]:
    return {
        lake.join(part_template(dataset)): {
            "format": "jsonlines",
            "encoding": "utf-8",
            "overwrite": True,
            "postprocessing": ["scrapy.extensions.postprocessing.GzipPlugin"],
            # zlib's default, not gzip's 9: a third less CPU per record for parts 1 % larger (measured on the replica).
            "gzip_compresslevel": 6,
            "batch_item_count": batch,
            "item_classes": ITEM_CLASSES[dataset],
            "stdcrawl_dataset": dataset,
            "stdcrawl_state": dataset != "rejects",  # storing these parts commits their records
        }
        for dataset in datasets
    }


def move_secrets(settings: BaseSettings) -> None:
    """AWS keys given as settings go into the environment, and out of the settings Scrapy logs."""
    for name in SECRETS:
        if value := settings.get(name):
            os.environ[name] = str(value)
            settings.set(name, None, priority=max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["cmdline"]))


def leave_out_switched_off(settings: BaseSettings) -> None:
    """Take the components of :data:`SWITCHED_OFF` whose setting is off out of Scrapy's base lists.

    Out of ``<NAME>_BASE``, not disabled in ``<NAME>`` with None: Scrapy imports
    every class named there to compare it with the base list's. A component the
    project or the command line names in ``<NAME>`` is still loaded, and runs
    if its setting is on.
    """
    for switch, name, path in SWITCHED_OFF:
        if not settings.getbool(switch) and isinstance(base := settings[f"{name}_BASE"], BaseSettings):
            base.set(path, None, priority="addon")


class StdcrawlAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        move_secrets(settings)
        leave_out_switched_off(settings)
        problems = [str(p) for p in config.validate(settings, fix=True)]
        now = dt.datetime.now(dt.UTC)
        settings.set("STDCRAWL_RUN_ID", settings.get("STDCRAWL_RUN_ID") or new_run_id(now), priority="cmdline")
        settings.set("STDCRAWL_RUN_STARTED", now.isoformat(timespec="seconds"), priority="cmdline")
        settings.set("STDCRAWL_RUN_DATE", now.date().isoformat(), priority="cmdline")
        if (settings.getpriority("USER_AGENT") or 0) <= SETTINGS_PRIORITIES["default"]:
            contact = settings.get("STDCRAWL_CONTACT_URL") or "no contact given"
            settings.set("USER_AGENT", f"stdcrawl/{__version__} (+{contact})", priority="addon")
        where = paths(settings)
        if job := settings.get("STDCRAWL_JOB"):
            # A resumable job: Scrapy keeps its queue and seen requests in JOBDIR; a finished one starts afresh.
            settings.set("JOBDIR", str(where.job(job)), priority="cmdline")
            if not problems:
                settings.set("STDCRAWL_JOB_RESTARTED", restart_finished(where.job(job)), priority="cmdline")
        settings.set("STDCRAWL_SETTINGS_ERRORS", problems, priority="cmdline")
        given = settings.getdict("FEEDS")
        if not given:
            settings.set("FEEDS", lake_feeds(where.lake, settings.getint("STDCRAWL_LAKE_BATCH_ITEMS")), priority="addon")
            return
        feeds = {uri: {"item_classes": ITEM_CLASSES["articles"] + ITEM_CLASSES["tombstones"], **options} for uri, options in given.items()}
        for options in feeds.values():
            options.pop("stdcrawl_dataset", None)
            options.pop("stdcrawl_state", None)
        settings.set("STDCRAWL_ADHOC", True, priority="cmdline")
        settings.set("FEEDS", feeds, priority=max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["addon"]))
