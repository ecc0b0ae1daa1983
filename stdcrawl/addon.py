"""Settings computed from other settings, applied after the command line's.

- ``STDCRAWL_RUN_ID``: unique per run, sortable: ``20261127T020304Z-1a2b3c``.
- ``USER_AGENT``: ``stdcrawl/<version> (+STDCRAWL_CONTACT_URL)``, unless set.
- ``FEEDS``: when none is given, three datasets per run under ``STDCRAWL_DATA_DIR``:
  ``<data>/<channel>/articles/<run id>.jsonl``, ``.../tombstones/...`` and
  ``.../rejects/...``; the first two are marked ``stdcrawl_state`` (storing them
  commits the state). Feeds given with ``-o``/``-O`` or ``FEEDS`` are kept as
  they are, but take articles and tombstones only unless they name
  ``item_classes``, and they do not commit the state: an ad-hoc run must not
  keep the articles it wrote elsewhere from reaching the data dir. Rejects
  always get their own feed.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from stdcrawl import __version__

RECORDS = ["stdcrawl.record.Article", "stdcrawl.record.Tombstone"]
REJECTS = ["stdcrawl.record.Rejected"]
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def default_feeds(data_dir: Path) -> dict[str, dict[str, Any]]:
    def feed(dataset: str, classes: list[str], state: bool) -> tuple[str, dict[str, Any]]:
        uri = (data_dir / "%(channel_slug)s" / dataset / "%(run_id)s.jsonl").as_posix()
        return uri, {"format": "jsonlines", "encoding": "utf-8", "item_classes": classes, "stdcrawl_state": state}

    return dict([feed("articles", RECORDS[:1], True), feed("tombstones", RECORDS[1:], True), feed("rejects", REJECTS, False)])


class StdcrawlAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        run_id = settings.get("STDCRAWL_RUN_ID") or new_run_id()
        if not RUN_ID.fullmatch(run_id):
            # Left for the spider to report as bad usage; never used in a path.
            settings.set("STDCRAWL_RUN_ID_INVALID", run_id, priority="addon")
            run_id = new_run_id()
        settings.set("STDCRAWL_RUN_ID", run_id, priority="cmdline")
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["default"]:
            contact = settings.get("STDCRAWL_CONTACT_URL") or "no contact given"
            settings.set("USER_AGENT", f"stdcrawl/{__version__} (+{contact})", priority="addon")
        data_dir = Path(settings.get("STDCRAWL_DATA_DIR") or "data")
        feeds = settings.getdict("FEEDS")
        if not feeds:
            settings.set("FEEDS", default_feeds(data_dir), priority="addon")
            return
        given = {uri: {"item_classes": RECORDS, **options, "stdcrawl_state": False} for uri, options in feeds.items()}
        if not any("stdcrawl.record.Rejected" in map(str, o.get("item_classes", ())) for o in feeds.values()):
            given.update({uri: o for uri, o in default_feeds(data_dir).items() if "rejects" in uri})
        settings.set("FEEDS", given, priority=max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["addon"]))
