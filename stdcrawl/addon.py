"""Settings computed from other settings, applied after the command line's.

- ``STDCRAWL_RUN_ID``: unique per run, sortable: ``20261127T020304Z-1a2b3c``;
  ``STDCRAWL_RUN_STARTED`` and ``STDCRAWL_RUN_DATE`` (UTC) go with it.
- ``USER_AGENT``: ``stdcrawl/<version> (+STDCRAWL_CONTACT_URL)``, unless set.
- ``JOBDIR``: ``<data dir>/jobs/<STDCRAWL_JOB>`` when a job name is given: a
  long backfill stopped with Ctrl-C or SIGTERM resumes where it stopped.
- ``FEEDS``: when none is given, the lake's three datasets (see
  :mod:`stdcrawl.lake`): gzipped JSON lines in parts of
  ``STDCRAWL_LAKE_BATCH_ITEMS`` records. Feeds given with ``-o``/``-O`` or
  ``FEEDS`` are kept as they are, but take articles and tombstones only unless
  they name ``item_classes``, and they never touch the state: an ad-hoc run must
  not keep the articles it wrote elsewhere from reaching the lake. Rejects
  always go to the lake.

Values that cannot be used (a run id unsafe in a path, a lake URI with
credentials) are replaced by safe ones and listed in ``STDCRAWL_SETTINGS_ERRORS``:
the spider reports them as bad usage before any request.

AWS credentials given as settings (``-s AWS_SECRET_ACCESS_KEY=...``) are moved
into the process environment, where boto3 finds them, before Scrapy logs the
settings it was given: no credential reaches a log, the stats or a report.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from pathlib import Path
from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from stdcrawl import __version__
from stdcrawl.lake import DATASETS, LakeURI, LakeURIError, lake_uri, part_template

ITEM_CLASSES = {
    "articles": ["stdcrawl.record.Article"],
    "tombstones": ["stdcrawl.record.Tombstone"],
    "rejects": ["stdcrawl.record.Rejected"],
}
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def new_run_id(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def lake_feeds(lake: LakeURI, batch: int, datasets: tuple[str, ...] = DATASETS) -> dict[str, dict[str, Any]]:
    return {
        lake.join(part_template(dataset)): {
            "format": "jsonlines",
            "encoding": "utf-8",
            "overwrite": True,
            "postprocessing": ["scrapy.extensions.postprocessing.GzipPlugin"],
            "batch_item_count": batch,
            "item_classes": ITEM_CLASSES[dataset],
            "stdcrawl_dataset": dataset,
            "stdcrawl_state": dataset != "rejects",  # storing these parts commits their records
        }
        for dataset in datasets
    }


class StdcrawlAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        for name in SECRETS:
            if value := settings.get(name):
                os.environ[name] = str(value)
                settings.set(name, None, priority=max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["cmdline"]))
        errors: list[str] = []
        now = dt.datetime.now(dt.UTC)
        run_id = settings.get("STDCRAWL_RUN_ID") or new_run_id(now)
        if not RUN_ID.fullmatch(run_id):
            errors.append(f"STDCRAWL_RUN_ID={run_id!r}: use letters, digits, '.', '_' and '-' only")
            run_id = new_run_id(now)
        settings.set("STDCRAWL_RUN_ID", run_id, priority="cmdline")
        settings.set("STDCRAWL_RUN_STARTED", now.isoformat(timespec="seconds"), priority="cmdline")
        settings.set("STDCRAWL_RUN_DATE", now.date().isoformat(), priority="cmdline")
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["default"]:
            contact = settings.get("STDCRAWL_CONTACT_URL") or "no contact given"
            settings.set("USER_AGENT", f"stdcrawl/{__version__} (+{contact})", priority="addon")
        try:
            lake = lake_uri(settings)
        except LakeURIError as exc:
            errors.append(str(exc))
            settings.set("STDCRAWL_LAKE_URI", "", priority="cmdline")
            lake = lake_uri(settings)
        if job := settings.get("STDCRAWL_JOB"):
            # A resumable job: Scrapy keeps its queue and seen requests in JOBDIR.
            if RUN_ID.fullmatch(job):
                settings.set("JOBDIR", str(Path(settings.get("STDCRAWL_DATA_DIR") or "data") / "jobs" / job), priority="cmdline")
            else:
                errors.append(f"STDCRAWL_JOB={job!r}: use letters, digits, '.', '_' and '-' only")
        settings.set("STDCRAWL_SETTINGS_ERRORS", errors, priority="cmdline")
        batch = settings.getint("STDCRAWL_LAKE_BATCH_ITEMS", 5000)
        given = settings.getdict("FEEDS")
        if not given:
            settings.set("FEEDS", lake_feeds(lake, batch), priority="addon")
            return
        feeds = {uri: {"item_classes": ITEM_CLASSES["articles"] + ITEM_CLASSES["tombstones"], **options} for uri, options in given.items()}
        for options in feeds.values():
            options.pop("stdcrawl_dataset", None)
            options.pop("stdcrawl_state", None)
        if not any("stdcrawl.record.Rejected" in map(str, o.get("item_classes", ())) for o in given.values()):
            feeds.update(lake_feeds(lake, batch, ("rejects",)))
        settings.set("FEEDS", feeds, priority=max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["addon"]))
