"""Run folders in the lake: finished in order, or finished later by the next run.

A run's folders are finished after all its parts are stored: ``_manifest.json``
first, then an empty ``_SUCCESS``. A reader that sees ``_SUCCESS`` can trust
every part the manifest lists; a folder without it belongs to a run that did
not finish. Every run writes at least the articles folder (with no parts when
nothing was new), so every run leaves a manifest.

Before a run crawls, it finishes the runs that earlier crashes or storage
outages left unfinished (the state store lists them): it uploads their spooled
parts, commits what those parts hold, removes files their manifests would not
list (a part uploaded just before a crash, a temporary file), and writes the
manifests and ``_SUCCESS``. If the lake cannot be reached, the run stops there
with ``lake_unavailable`` and the spool waits for the next one.

The run's report (the same as the summary ``stdcrawl crawl`` prints) is
written as ``_report.json`` beside the articles manifest, and every manifest
carries the monitors' results. The record schemas are published under ``<root>/stdaily/_schemas/`` once per
version. Settings: ``STDCRAWL_LAKE_URI``. Counters: ``stdcrawl/lake/...``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from stdcrawl import report, schema
from stdcrawl.extensions.ledger import SIDECAR, ExportLedger, utc_now
from stdcrawl.feeds.storages import spool_dir
from stdcrawl.lake import MANIFEST, REPORT, SUCCESS, lake_uri, manifest, run_folder, schema_key
from stdcrawl.lake.stores import Store, open_store
from stdcrawl.record import SCHEMA_VERSION
from stdcrawl.state import Export, Part, Run, StateStore

logger = logging.getLogger(__name__)


class LakeRuns:
    def __init__(self, crawler: Crawler, store: Store) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.stats = crawler.stats
        self.lake_store = store
        self.run_id: str = crawler.settings.get("STDCRAWL_RUN_ID")
        self.reason = "unknown"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LakeRuns:
        ext = cls(crawler, open_store(lake_uri(crawler.settings), crawler.settings))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.feed_exporter_closed, signal=signals.feed_exporter_closed)
        return ext

    @property
    def ledger(self) -> ExportLedger:
        # Looked up when needed: extensions cannot look each other up while they are being built.
        ledger = self.crawler.get_extension(ExportLedger)
        assert ledger is not None, "LakeRuns needs the ExportLedger extension"
        return ledger

    @property
    def state(self) -> StateStore:
        assert self.ledger.store is not None
        return self.ledger.store

    def spider_opened(self, spider: Spider) -> None:
        if self.ledger.store is None or getattr(spider, "usage_error", None) or self.settings.getlist("STDCRAWL_SETTINGS_ERRORS"):
            return  # the ledger or the spider closes the run at once
        self.stats.set_value("stdcrawl/lake/root", lake_uri(self.settings).uri)
        earlier = self.state.incomplete_runs()
        self.state.start_run(
            Run(self.run_id, spider.name, getattr(getattr(spider, "channel", None), "name", None),
                self.settings.get("STDCRAWL_RUN_DATE"), self.settings.get("STDCRAWL_RUN_STARTED"), None, None, {}, False)
        )
        for run in earlier:
            try:
                uploaded = self._upload_spool(run)
                self._finish(run)
            except Exception as exc:
                logger.error(
                    "The lake at %s is unavailable (%s): run %s is not finished and its spooled parts wait in %s; "
                    "not crawling", lake_uri(self.settings).uri, _one_line(exc), run.run_id, spool_dir(self.settings, run.run_id),
                )
                self.stats.inc_value("stdcrawl/lake/unavailable")
                raise CloseSpider("lake_unavailable") from None
            logger.warning("Finished run %s left unfinished by a crash or an outage (%d spooled parts uploaded)", run.run_id, uploaded)
            self.stats.inc_value("stdcrawl/lake/runs_recovered")
            self.stats.inc_value("stdcrawl/lake/parts_recovered", uploaded)

    def spider_closed(self, reason: str) -> None:
        self.reason = reason

    def feed_exporter_closed(self) -> None:
        if self.ledger.store is None or self.reason == "usage_error":
            return
        stats = self.stats.get_stats()
        kept = {k: v for k, v in stats.items() if k.startswith(("stdcrawl/", "downloader/", "log_count/", "retry/")) or k == "finish_reason"}
        self.state.finish_run(self.run_id, utc_now(), self.reason, manifest.counts_from_stats(stats), kept)
        if self.ledger.failed_parts:
            logger.error(
                "Run %s is not finished in the lake: %d parts were not stored. The next run uploads them and finishes it.",
                self.run_id, len(self.ledger.failed_parts),
            )
            self.stats.set_value("stdcrawl/lake/incomplete", 1)
            return
        run = next(r for r in self.state.incomplete_runs() if r.run_id == self.run_id)
        try:
            self._finish(run, report.build(self.stats.get_stats(), self.run_id, self.crawler.spider.name))
        except Exception as exc:
            logger.error("Could not finish run %s in the lake (%s); the next run finishes it", self.run_id, _one_line(exc))
            self.stats.set_value("stdcrawl/lake/incomplete", 1)

    def _upload_spool(self, run: Run) -> int:
        """Upload the parts a run could not store, and commit what they hold."""
        folder = spool_dir(self.settings, run.run_id)
        uploaded = 0
        for sidecar in sorted(folder.rglob(f"*{SIDECAR}")) if folder.is_dir() else []:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            part = Part(**meta["part"])
            data = sidecar.with_name(sidecar.name.removesuffix(SIDECAR)).read_bytes()
            if hashlib.sha256(data).hexdigest() != part.sha256:
                raise ValueError(f"spooled part {part.key} does not match its checksum")
            self.lake_store.put(part.key, data)
            exports = [Export(**{**e, "aliases": tuple(e["aliases"])}) for e in meta["exports"]]
            self.state.commit(exports, run.run_id, utc_now(), part)
            uploaded += 1
        return uploaded

    def _finish(self, run: Run, run_report: dict[str, Any] | None = None) -> None:
        """Manifests (and this run's report), then _SUCCESS, for every folder of the run; then the run is complete."""
        parts = self.state.parts(run.run_id)
        extra = {"monitors": run_report["monitors"], "exit_status": run_report["exit_status"]} if run_report else {}
        self._publish_schemas()
        for dataset in sorted({"articles", *(p.dataset for p in parts)}):
            folder = run_folder(dataset, run.dt, run.run_id)
            listed = {p.key for p in parts if p.dataset == dataset}
            for key in list(self.lake_store.keys(folder)):
                if key not in listed and key.rsplit("/", 1)[-1] not in (MANIFEST, SUCCESS, REPORT):
                    logger.warning("Removing %s from the lake: no stored part of run %s is there", key, run.run_id)
                    self.lake_store.delete(key)
                    self.stats.inc_value("stdcrawl/lake/debris_removed")
            self.lake_store.put(folder + MANIFEST, manifest.build(run, dataset, parts, finished_by=self.run_id, extra=extra))
            if run_report and dataset == "articles":
                self.lake_store.put(folder + REPORT, (json.dumps(run_report, indent=1, default=str) + "\n").encode())
            self.lake_store.put(folder + SUCCESS, b"")
        self.state.complete_run(run.run_id)
        shutil.rmtree(spool_dir(self.settings, run.run_id), ignore_errors=True)
        if run.run_id == self.run_id:
            self.stats.set_value("stdcrawl/lake/run_folder", lake_uri(self.settings).join(run_folder("articles", run.dt, run.run_id)))

    def _publish_schemas(self) -> None:
        for kind in schema.SCHEMAS:
            key = schema_key(kind, SCHEMA_VERSION)
            if not self.lake_store.exists(key):
                self.lake_store.put(key, schema.raw(kind))


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
