"""Run monitors (spidermon): the run fails loudly when the site changed under it.

The worst failure of a scheduled news crawler is the silent one: the site
changes its templates, extraction yields empty or wrong fields, the run
"succeeds". These monitors run when the spider closes, read its stats (and the
history of earlier runs in the state store), and fail the run, naming a few
URLs a person can open:

- **field coverage**: every article has a title, a publication time and a body;
  authors, images and byline come at the rates earlier runs saw, within a
  tolerance (``STDCRAWL_COVERAGE_TOLERANCE``), once a run has enough articles to
  judge (``STDCRAWL_COVERAGE_MIN_ARTICLES``);
- **template drift**: pages shaped like articles that do not read as articles,
  first list pages without article links; each above its threshold. The
  extraction path (selectors or the text reader) is never judged: the live
  site's markup is unknown, and a template change with nothing lost is only
  reported (:mod:`stdcrawl.drift`);
- **the walk**: every list was walked to its proven end (:mod:`stdcrawl.walk`):
  a walk that lost pages means articles this run did not see;
- **article count**: a full run (the first, or a full refresh) finds at least
  ``STDCRAWL_MIN_ARTICLES_RATIO`` of the articles the last full runs found; an
  incremental run that finds nothing new is normal;
- **errors**, with spidermon's own monitors: ERROR log lines
  (``SPIDERMON_MAX_ERRORS``), HTTP 5xx (``SPIDERMON_UNWANTED_HTTP_CODES``),
  requests given up after retries (``SPIDERMON_MAX_RETRIES``), finish reason
  (``SPIDERMON_EXPECTED_FINISH_REASONS``).

:class:`RecordResults` writes the outcome into the stats
(``stdcrawl/monitors/...``), which the exit status, the run report and the
manifest read.
"""

from __future__ import annotations

import statistics
import warnings
from typing import Any

from spidermon import MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors import (
    ErrorCountMonitor,
    FinishReasonMonitor,
    RetryCountMonitor,
    UnwantedHTTPCodesMonitor,
)
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor
from spidermon.core.actions import Action


# spidermon 1.27's runner logs through the deprecated Spider.log(); the warning is about spidermon, not us.
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", module=r"spidermon\.")

from stdcrawl import events

REQUIRED_FIELDS = ("title", "published_at", "body")
LEARNT_FIELDS = ("authors", "images", "byline")


def _samples(stats: dict[str, Any], kind: str) -> str:
    urls = stats.get(events.samples(kind)) or []
    return (": " + ", ".join(urls)) if urls else ""


class _StdcrawlMonitor(BaseScrapyMonitor):
    def setting(self, name: str) -> float:
        return self.crawler.settings.getfloat(name)

    def history(self) -> list[dict[str, Any]]:
        """Stats of the last runs of this spider and channel, newest first (see stdcrawl.extensions.monitoring)."""
        return list(self.data.stats_history or [])


@monitors.name("Field coverage")
class FieldCoverageMonitor(_StdcrawlMonitor):
    @monitors.name("Every article has a title, a publication time and a body")
    def test_required_fields(self) -> None:
        articles = self.stats.get(events.COVERAGE_ARTICLES, 0)
        missing = {f: articles - self.stats.get(events.coverage(f), 0) for f in REQUIRED_FIELDS}
        missing = {f: n for f, n in missing.items() if n}
        self.assertFalse(missing, msg=f"articles without {', '.join(f'{f} ({n})' for f, n in missing.items())}")

    @monitors.name("Authors, images and bylines come as often as in earlier runs")
    def test_learnt_rates(self) -> None:
        least = self.crawler.settings.getint("STDCRAWL_COVERAGE_MIN_ARTICLES")
        articles = self.stats.get(events.COVERAGE_ARTICLES, 0)
        earlier = [s for s in self.history() if s.get(events.COVERAGE_ARTICLES, 0) >= least]
        if articles < least or not earlier:
            return  # too few articles to judge, or nothing to compare with yet
        tolerance = self.setting("STDCRAWL_COVERAGE_TOLERANCE")
        drops = []
        for name in LEARNT_FIELDS:
            usual = statistics.median(s.get(events.coverage(name), 0) / s[events.COVERAGE_ARTICLES] for s in earlier)
            rate = self.stats.get(events.coverage(name), 0) / articles
            if rate < usual - tolerance:
                drops.append(f"{name} {rate:.0%} (usually {usual:.0%})")
        self.assertFalse(drops, msg="coverage dropped: " + ", ".join(drops))


@monitors.name("Template drift")
class TemplateDriftMonitor(_StdcrawlMonitor):
    def _limit(self, rate_setting: str, base: int) -> float:
        return max(self.setting("STDCRAWL_DRIFT_MIN_PAGES"), self.setting(rate_setting) * base)

    @monitors.name("Pages shaped like articles read as articles")
    def test_article_pages_extract(self) -> None:
        failed = self.stats.get(events.ARTICLES_NOT_ARTICLE, 0)
        pages = failed + self.stats.get(events.ARTICLES_EXTRACTED, 0)
        limit = self._limit("STDCRAWL_MAX_NOT_ARTICLE_RATE", pages)
        self.assertLessEqual(
            failed, limit,
            msg=f"{failed} of {pages} article pages did not read as articles{_samples(self.stats, 'not_article')}",
        )

    @monitors.name("List pages link articles")
    def test_lists_have_links(self) -> None:
        empty = self.stats.get(events.LIST_EMPTY_FIRST, 0)
        not_found = self.stats.get(events.LISTS_NOT_FOUND, 0)
        self.assertLessEqual(
            empty + not_found, self.setting("STDCRAWL_MAX_EMPTY_LISTS"),
            msg=f"{empty} first list pages without article links, {not_found} lists not found{_samples(self.stats, 'empty_list')}",
        )


@monitors.name("List walk")
class WalkMonitor(_StdcrawlMonitor):
    @monitors.name("Every list was walked to its proven end")
    def test_walk_complete(self) -> None:
        why = self.stats.get(events.WALK_INCOMPLETE) or []
        lost = self.stats.get(events.samples("lost_list_page")) or []
        self.assertFalse(why, msg="the walk is not complete: " + "; ".join(why) + (f": {', '.join(lost)}" if lost else ""))


@monitors.name("Article count")
class ArticleCountMonitor(_StdcrawlMonitor):
    @monitors.name("A full run finds as many articles as the last full runs")
    def test_full_run_count(self) -> None:
        if not self.stats.get(events.FULL_RUN):
            return  # an incremental run finding nothing new is normal
        earlier = [s.get(events.ARTICLES_EXTRACTED, 0) for s in self.history() if s.get(events.FULL_RUN)]
        if not earlier:
            return
        found = self.stats.get(events.ARTICLES_EXTRACTED, 0)
        expected = self.setting("STDCRAWL_MIN_ARTICLES_RATIO") * statistics.median(earlier)
        self.assertGreaterEqual(found, expected, msg=f"{found} articles, the last full runs found {statistics.median(earlier):.0f}")


class RecordResults(Action):
    """Writes the monitors' outcome into the stats: ``stdcrawl/monitors/{passed,failed,results}``."""

    def run_action(self) -> None:
        results = []
        for result in self.result.monitor_results:
            message = (result.error or result.reason or "").strip().splitlines()
            failed = result.status in ("FAIL", "ERROR")
            results.append({
                "monitor": result.monitor.name,
                "status": "failed" if failed else "passed",
                "message": message[-1].removeprefix("AssertionError: ") if failed and message else None,
            })
        stats = self.data.crawler.stats
        stats.set_value(events.MONITORS_RESULTS, results)
        stats.set_value(events.MONITORS_PASSED, sum(r["status"] == "passed" for r in results))
        stats.set_value(events.MONITORS_FAILED, sum(r["status"] == "failed" for r in results))


class RunMonitors(MonitorSuite):
    monitors = [
        FieldCoverageMonitor,
        TemplateDriftMonitor,
        WalkMonitor,
        ArticleCountMonitor,
        ErrorCountMonitor,
        FinishReasonMonitor,
        UnwantedHTTPCodesMonitor,
        RetryCountMonitor,
    ]
    monitors_finished_actions = [RecordResults]
