"""Run folders in the lake: finished in order, or finished later by the next run.

A run's folders are finished after all its parts are stored and committed:
``_manifest.json`` first, then an empty ``_SUCCESS``. A reader that sees
``_SUCCESS`` can trust every part the manifest lists; a folder without it
belongs to a run that did not finish. Every run writes at least the articles
folder (with no parts when nothing was new), so every run leaves a manifest.

Before a run crawls, it finishes the runs that earlier crashes, storage
outages or state failures left unfinished (the state store lists them): it
stores their spooled parts (again, under the same key: storing is idempotent),
commits what those parts hold, removes from *every* dataset folder of the run
the files its manifest would not list (a part stored just before a crash, a
temporary file), and writes the manifests and ``_SUCCESS``. If the lake cannot
be reached, the run stops there with ``lake_unavailable`` and the spool waits
for the next one.

A state store that is new while the lake already holds finished runs of this
spider and channel is refused (``state_missing``): starting afresh would export
every article again. ``stdcrawl state rebuild`` rebuilds the state from the lake.

The run's report (the same as the summary ``stdcrawl crawl`` prints) is
written as ``_report.json`` beside the articles manifest, and every manifest
carries the monitors' results and the exit status. The record schemas are
published under ``<root>/stdaily/_schemas/`` once per version, byte for byte.
The run's WARC files (:mod:`stdcrawl.extensions.warcarchive`) are stored before
its folders are finished, a dead run's before its parts, and the articles
manifest lists them (``warc``).
State writes go through the export ledger. Settings: ``STDCRAWL_LAKE_URI``.
Counters: ``stdcrawl/lake/...``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from stdcrawl import events, report, schema
from stdcrawl.extensions.warcarchive import manifest_entries, recover_run, waiting
from stdcrawl.lake import DATASETS, FAILED, MANIFEST, PREFIX, REPORT, SUCCESS, LakeURI, manifest, parse_run_folder, run_folder, schema_key
from stdcrawl.lake.stores import Store, open_store
from stdcrawl.paths import paths
from stdcrawl.record import SCHEMA_VERSION
from stdcrawl.state import Run
from stdcrawl.state.ledger import CommitFailed, ExportLedger, Ledger
from stdcrawl.state.spool import Spool

logger = logging.getLogger(__name__)


class LakeRuns:
    def __init__(self, crawler: Crawler, lake: LakeURI, store: Store, spool: Spool, run_id: str) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.stats = crawler.stats
        self.lake = lake
        self.lake_store = store
        self.spool = spool
        self.run_id = run_id
        self.reason = "unknown"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LakeRuns:
        where = paths(crawler.settings)
        ext = cls(crawler, where.lake, open_store(where.lake, crawler.settings), Spool(where.spool),
                  crawler.settings.get("STDCRAWL_RUN_ID"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.feed_exporter_closed, signal=signals.feed_exporter_closed)
        return ext

    @property
    def export_ledger(self) -> ExportLedger:
        # Looked up when needed: extensions cannot look each other up while they are being built.
        ledger = self.crawler.get_extension(ExportLedger)
        assert ledger is not None, "LakeRuns needs the ExportLedger extension"
        return ledger

    @property
    def ledger(self) -> Ledger:
        assert self.export_ledger.ledger is not None
        return self.export_ledger.ledger

    def _active(self, spider: Spider | None = None) -> bool:
        return self.export_ledger.ledger is not None and not getattr(spider, "usage_error", None)

    def spider_opened(self, spider: Spider) -> None:
        if not self._active(spider):
            return  # the ledger or the spider closes the run at once, or an ad-hoc run keeps out of the lake
        self.stats.set_value(events.LAKE_ROOT, self.lake.uri)
        channel = getattr(getattr(spider, "channel", None), "name", None)
        state = self.ledger.store
        if state.is_new():
            self._refuse_a_lost_state(spider.name, channel)
        earlier = state.incomplete_runs()
        try:
            self.ledger.start_run(
                Run(self.run_id, spider.name, channel, self.settings.get("STDCRAWL_RUN_DATE"),
                    self.settings.get("STDCRAWL_RUN_STARTED"), None, None, {}, False)
            )
            for run in earlier:
                uploaded = self._recover(run)
                logger.warning("Finished run %s left unfinished by a crash or an outage (%d spooled parts stored)",
                               run.run_id, uploaded)
                self.stats.inc_value(events.LAKE_RUNS_RECOVERED)
                self.stats.inc_value(events.LAKE_PARTS_RECOVERED, uploaded)
        except CommitFailed as exc:
            logger.error("%s; not crawling", exc)
            self.stats.inc_value(events.STATE_COMMIT_FAILED)
            raise CloseSpider("state_error") from None
        except Exception as exc:
            logger.error(
                "The lake at %s is unavailable (%s): earlier runs are not finished and their spooled parts wait in %s; "
                "not crawling", self.lake.uri, _one_line(exc), self.spool.root,
            )
            self.stats.inc_value(events.LAKE_UNAVAILABLE)
            raise CloseSpider("lake_unavailable") from None

    def _refuse_a_lost_state(self, spider: str, channel: str | None) -> None:
        """A new state store over a lake that holds this channel's runs: the state was lost, not never made."""
        try:
            earlier = self._lake_runs(spider, channel)
        except Exception as exc:
            logger.error("The lake at %s is unavailable (%s): not crawling", self.lake.uri, _one_line(exc))
            self.stats.inc_value(events.LAKE_UNAVAILABLE)
            raise CloseSpider("lake_unavailable") from None
        if earlier:
            logger.error(
                "The state store %s is empty or missing, but the lake at %s holds %d finished run(s) of %s: starting "
                "afresh would export every article again. Rebuild the state from the lake with "
                "`stdcrawl state rebuild --lake %s --state %s`, or point STDCRAWL_STATE_PATH at the right file; not crawling",
                self.export_ledger.path, self.lake.uri, earlier, channel or spider, self.lake.uri, self.export_ledger.path,
            )
            self.stats.inc_value(events.STATE_UNUSABLE)
            raise CloseSpider("state_missing")

    def _lake_runs(self, spider: str, channel: str | None) -> int:
        found = 0
        for key in self.lake_store.keys(f"{PREFIX}/articles/"):
            if key.endswith("/" + MANIFEST) and (parsed := parse_run_folder(key)):
                m = json.loads(self.lake_store.get(key))
                found += m.get("spider") == spider and m.get("channel") == channel and parsed[2] != self.run_id
        return found

    def spider_closed(self, reason: str) -> None:
        self.reason = reason

    def feed_exporter_closed(self) -> None:
        if not self._active() or self.reason in ("usage_error", "state_missing"):
            return
        warc_waiting = waiting(self.crawler)  # the run's WARC files are stored before its folders are finished
        stats = self.stats.get_stats()
        kept = {k: v for k, v in stats.items()
                if k.startswith(("stdcrawl/", "downloader/", "log_count/", "retry/")) or k == "finish_reason"}
        run_report = report.build(stats, self.run_id, getattr(self.crawler.spider, "name", "-"))
        walk_complete = bool(self.export_ledger.walk_complete) and self.reason == "finished" and not self.export_ledger.failed_parts
        try:
            self.ledger.finish_run(self.reason, manifest.counts_from_stats(stats), kept,
                                   walk_complete=walk_complete, exit_status=run_report["exit_status"])
        except CommitFailed as exc:
            logger.error("%s; the next run walks the lists to their end", exc)
            self.stats.inc_value(events.STATE_COMMIT_FAILED)
            self.stats.set_value(events.LAKE_INCOMPLETE, 1)
            return
        if self.export_ledger.failed_parts:
            logger.error(
                "Run %s is not finished in the lake: %d parts were not committed. The next run stores them and finishes it.",
                self.run_id, len(self.export_ledger.failed_parts),
            )
            self.stats.set_value(events.LAKE_INCOMPLETE, 1)
            return
        if warc_waiting:
            logger.error(
                "Run %s is not finished in the lake: %d WARC files were not stored. The next run stores them and finishes it.",
                self.run_id, len(warc_waiting),
            )
            self.stats.set_value(events.LAKE_INCOMPLETE, 1)
            return
        run = self.ledger.store.run(self.run_id)
        assert run is not None
        try:
            self._finish(run, run_report)
        except CommitFailed as exc:
            logger.error("%s; the next run finishes the run in the lake", exc)
            self.stats.inc_value(events.STATE_COMMIT_FAILED)
            self.stats.set_value(events.LAKE_INCOMPLETE, 1)
        except Exception as exc:
            logger.error("Could not finish run %s in the lake (%s); the next run finishes it", self.run_id, _one_line(exc))
            self.stats.set_value(events.LAKE_INCOMPLETE, 1)

    def _recover(self, run: Run) -> int:
        """Store the parts a run could not store (or commit), commit what they hold, finish its folders."""
        uploaded = 0
        # WARC files first: the records of the parts name them in their provenance.
        recover_run(self.lake_store, self.spool, self.ledger, run.run_id, run.dt, self.stats)
        for spooled in self.spool.waiting(run.run_id):
            self.lake_store.put(spooled.part.key, spooled.read())
            self.ledger.commit_part(spooled.part, spooled.exports, run_id=run.run_id)
            self.spool.release(spooled.path)
            uploaded += 1
        self._finish(run)
        return uploaded

    def _finish(self, run: Run, run_report: dict[str, Any] | None = None) -> None:
        """Manifests (and this run's report), then _SUCCESS, for every folder of the run; then the run is complete."""
        parts = self.ledger.store.parts(run.run_id)
        extra = ({key: run_report[key] for key in ("monitors", "exit_status", "template_changes")} if run_report
                 else {"exit_status": run.exit_status})
        self._publish_schemas()
        for dataset in DATASETS:
            folder = run_folder(dataset, run.dt, run.run_id)
            listed = {p.key for p in parts if p.dataset == dataset}
            present = list(self.lake_store.keys(folder))
            if dataset != "articles" and not listed and not present:
                continue  # every run has an articles folder; the others only when they hold something
            for key in present:
                if key not in listed and key.rsplit("/", 1)[-1] not in (MANIFEST, SUCCESS, REPORT):
                    logger.warning("Removing %s from the lake: no committed part of run %s is there", key, run.run_id)
                    self.lake_store.delete(key)
                    self.stats.inc_value(events.LAKE_DEBRIS_REMOVED)
            if not listed and dataset != "articles":
                for key in (folder + MANIFEST, folder + SUCCESS):
                    self.lake_store.delete(key)  # a folder left with nothing in it needs no manifest
                continue
            with_warc = {**extra, "warc": manifest_entries(self.ledger.store.warc_files(run.run_id))} if dataset == "articles" else extra
            self.lake_store.put(folder + MANIFEST, manifest.build(run, dataset, parts, finished_by=self.run_id, extra=with_warc))
            if run_report and dataset == "articles":
                self.lake_store.put(folder + REPORT, (json.dumps(run_report, indent=1, default=str) + "\n").encode())
            if dataset == "articles" and (why := _failed(run, run_report)):
                self.lake_store.put(folder + FAILED, ("".join(line + "\n" for line in why)).encode())
            self.lake_store.put(folder + SUCCESS, b"")
        self.ledger.complete_run(run.run_id)
        self.spool.clear(run.run_id)
        if run.run_id == self.run_id:
            self.stats.set_value(events.LAKE_RUN_FOLDER, self.lake.join(run_folder("articles", run.dt, run.run_id)))

    def _publish_schemas(self) -> None:
        for kind in schema.SCHEMAS:
            key = schema_key(kind, SCHEMA_VERSION)
            if not self.lake_store.exists(key):
                self.lake_store.put(key, schema.raw(kind))


def _failed(run: Run, run_report: dict[str, Any] | None) -> list[str]:
    """Why a run failed, for its ``_FAILED`` marker: its report's failures, or how it ended when it was finished later."""
    if run_report is not None:
        return list(run_report["failures"]) if run_report["exit_status"] else []
    if run.finish_reason != "finished":
        return [f"the run ended {run.finish_reason or 'killed'} and was finished by a later run"]
    if run.exit_status:
        return [f"the run exited {run.exit_status} and was finished by a later run (its _report.json is not written)"]
    return []


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
