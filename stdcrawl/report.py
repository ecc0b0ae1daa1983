"""The run report, read off the run's final stats: exit status, summary table, JSON. Pure, no Scrapy.

Exit status: 0 the run did its job; 1 it failed (a monitor failed, a lake part
was not stored or not committed, the state store could not record the run, the
run is not finished in the lake, a spider callback crashed, the spider closed
for another reason than "finished", the crawler did not start); 2 bad usage.
The same report goes to the terminal as a table and to the lake as
``_report.json`` beside the run's manifest. *Errors* (what went wrong) are
kept apart from *expected events* (an article the site removed, an article of
another channel in the list, a page robots.txt forbids).
"""

from __future__ import annotations

from typing import Any

from stdcrawl import drift, events, failures as reasons
from stdcrawl.events import Page
from stdcrawl.lake.manifest import counts_from_stats

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def failures(stats: dict[str, Any]) -> list[str]:
    """Why the run failed, one line each; empty when it did not."""
    found = []
    reason = stats.get("finish_reason")
    if reason != "finished":
        found.append(f"the spider closed with reason {reason!r}, not 'finished'")
    not_stored = sum(v for k, v in stats.items() if k.startswith("feedexport/failed_count/"))
    failed_parts = stats.get(events.EXPORT_FAILED_PARTS, 0)
    if not_stored or failed_parts:
        spooled = stats.get(events.LAKE_PARTS_SPOOLED, 0)
        found.append(
            f"{max(not_stored, failed_parts)} feed part(s) not stored ({stats.get(events.EXPORT_FAILED, 0)} records): "
            f"{spooled} kept in the spool, which the next run uploads before it crawls; the records of any other are "
            "fetched and exported again"
        )
    if spooled_warc := stats.get(events.ARCHIVE_FILES_SPOOLED):
        found.append(f"{spooled_warc} WARC file(s) not stored: kept in the spool, which the next run stores before it "
                     "crawls; the records that name them are committed then")
    if stats.get(events.STATE_COMMIT_FAILED):
        found.append("the state store could not record what the lake holds: the next run commits what the spool keeps "
                     "and walks the lists to their end")
    if forbidden := stats.get(events.failed(Page.LIST, "robots_txt")):
        found.append(f"robots.txt forbids {forbidden} of the channel's list pages: obeyed, so the channel was not crawled")
    if stats.get(events.TABLE_COMMIT_FAILED):
        found.append("the current-articles table was not updated: the next run catches it up")
    if stats.get(events.LAKE_INCOMPLETE):
        found.append("the run is not finished in the lake (no _SUCCESS yet): the next run finishes it before crawling")
    if lost := stats.get(events.ARTICLES_UNACCOUNTED):
        found.append(f"{lost} article request(s) ended nowhere (neither read, pending, gone nor skipped): a bug to report")
    crashes = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    if crashes:
        found.append(f"{crashes} exception(s) in spider callbacks")
    for result in stats.get(events.MONITORS_RESULTS) or []:
        if result["status"] == "failed":
            found.append(f"monitor failed: {result['monitor']}: {result['message']}")
    return found


def exit_status(stats: dict[str, Any], *, started: bool = True) -> int:
    if not started:
        return EXIT_FAILED
    if stats.get("finish_reason") == "usage_error":
        return EXIT_USAGE
    return EXIT_FAILED if failures(stats) else EXIT_OK


def _failed_pages(stats: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for page in Page:
        prefix = events.failed_prefix(page)
        for key, value in stats.items():
            if key.startswith(prefix):
                out[f"{page.value}/{key.removeprefix(prefix)}"] = value
    return out


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    """What went wrong, by kind: pages that failed (but for expected reasons), pages that were not articles,
    downloads that failed, ERROR log lines."""
    errors = {k: v for k, v in _failed_pages(stats).items() if not _expected_failure(k)}
    if stats.get(events.ARTICLES_NOT_ARTICLE):
        errors["articles/not_article"] = stats[events.ARTICLES_NOT_ARTICLE]
    if stats.get(events.ARTICLES_CHARSET_DAMAGE):
        errors["articles/replacement_chars"] = stats[events.ARTICLES_CHARSET_DAMAGE]
    for key, value in stats.items():
        if key.startswith("downloader/exception_type_count/") and "IgnoreRequest" not in key:
            errors[f"download/{key.rsplit('.', 1)[-1]}"] = value
    if stats.get("log_count/ERROR"):
        errors["log/ERROR"] = stats["log_count/ERROR"]
    return dict(sorted(errors.items()))


def _expected_failure(kind: str) -> bool:
    page, _, reason = kind.partition("/")
    return page == Page.ARTICLE.value and (reason == "robots_txt" or reason in reasons.GONE)


def expected_events(stats: dict[str, Any]) -> dict[str, int]:
    """The site's normal behaviour, counted but no trouble: articles that answer 404/410 (a known one
    becomes a tombstone, an unknown one is pending), other channels, robots.txt, redirects within the site."""
    found = {
        "gone": sum(stats.get(events.failed(Page.ARTICLE, r), 0) for r in reasons.GONE),
        "other_channel": stats.get(events.ARTICLES_OTHER_CHANNEL, 0),
        "robots_txt": stats.get(events.failed(Page.ARTICLE, "robots_txt"), 0),
        "redirected": stats.get(events.ARTICLES_REDIRECTED, 0),
    }
    return {k: v for k, v in found.items() if v}


def build(stats: dict[str, Any], run_id: str, spider: str, *, started: bool = True) -> dict[str, Any]:
    """The report of one run, as a JSON-ready dict."""
    elapsed = float(stats.get("elapsed_time_seconds") or 0)
    pages = int(stats.get("response_received_count") or 0)
    given_up = stats.get(events.STATE_PENDING_GIVEN_UP, 0)
    return {
        "run_id": run_id,
        "spider": spider,
        "finish_reason": stats.get("finish_reason"),
        "exit_status": exit_status(stats, started=started),
        "failures": failures(stats) if started else ["the crawler did not start (see the log)"],
        "duration_seconds": round(elapsed, 1),
        "pages": pages,
        "requests": stats.get("downloader/request_count", 0),
        "pages_per_second": round(pages / elapsed, 1) if elapsed else 0.0,
        "cpu_seconds": {"crawler": stats.get(events.CPU_CRAWLER), "helpers": stats.get(events.CPU_HELPERS)},
        "articles": {**counts_from_stats(stats), "near_duplicates": stats.get(events.DEDUPE_NEAR_DUPLICATE, 0)},
        "stored": {
            "records": stats.get(events.EXPORT_COMMITTED, 0),
            "parts": stats.get(events.LAKE_PARTS_STORED, 0),
            "not_stored": stats.get(events.EXPORT_FAILED, 0),
            "parts_spooled": stats.get(events.LAKE_PARTS_SPOOLED, 0),
        },
        "pending": {"articles": max(0, stats.get(events.PENDING_ARTICLES, 0) - given_up), "given_up": given_up},
        "walk": {"complete": not stats.get(events.WALK_INCOMPLETE), "incomplete": stats.get(events.WALK_INCOMPLETE) or []},
        "archive": {
            "responses": stats.get(events.ARCHIVE_RESPONSES, 0),
            "revisits": stats.get(events.ARCHIVE_REVISITS, 0),
            "not_archived": stats.get(events.ARCHIVE_WRITE_FAILED, 0) + stats.get(events.ARCHIVE_REFUSED, 0),
            "files_stored": stats.get(events.ARCHIVE_FILES_STORED, 0) + stats.get(events.ARCHIVE_FILES_IMPORTED, 0),
            "bytes_stored": stats.get(events.ARCHIVE_BYTES_STORED, 0),
            "files_spooled": stats.get(events.ARCHIVE_FILES_SPOOLED, 0),
        },
        "reextract": {
            "files": stats.get(events.REEXTRACT_FILES, 0),
            "runs": stats.get(events.REEXTRACT_RUNS) or [],
            "answered": stats.get(events.REEXTRACT_ANSWERED, 0),
            "not_archived": stats.get(events.REEXTRACT_NOT_ARCHIVED, 0),
            "unreadable": stats.get(events.REEXTRACT_UNREADABLE, 0),
        } if stats.get(events.REEXTRACT_FILES) else None,
        "extraction": drift.paths_read(stats),
        "templates": drift.templates(stats),
        "template_changes": stats.get(events.DRIFT_TEMPLATE_CHANGES) or [],
        "lake": stats.get(events.LAKE_RUN_FOLDER) or stats.get(events.LAKE_ROOT),
        "table_version": stats.get(events.TABLE_VERSION),
        "errors": errors_by_kind(stats),
        "expected": expected_events(stats),
        "monitors": stats.get(events.MONITORS_RESULTS) or [],
        "samples": {k.removeprefix(events.SAMPLES_PREFIX): v for k, v in stats.items()
                    if k.startswith(events.SAMPLES_PREFIX) and not k.startswith(events.samples("template/"))},
    }


_PATH_NAMES = {"text": "the text reader", "selectors": "the markup selectors"}


def _archive_row(report: dict[str, Any]) -> str:
    if read := report.get("reextract"):
        return (f"read {read['files']} WARC files of {len(read['runs'])} runs: {read['answered']} pages answered, "
                f"{read['not_archived']} not archived, {read['unreadable']} records unreadable; no request sent")
    a = report.get("archive") or {}
    if not (a.get("responses") or a.get("revisits") or a.get("files_spooled")):
        return "none kept"
    return (f"{a['responses']} responses, {a['revisits']} revisits in {a['files_stored']} WARC files "
            f"({a['bytes_stored'] / 1e6:.1f} MB) stored, {a['files_spooled']} spooled, {a['not_archived']} not archived")


def _cpu(report: dict[str, Any]) -> str:
    cpu = report.get("cpu_seconds") or {}
    if cpu.get("crawler") is None:
        return ""
    helpers = cpu.get("helpers") or 0.0
    return f"; CPU {cpu['crawler'] + helpers:.1f} s ({cpu['crawler']:.1f} the crawler, {helpers:.1f} its workers and committer)"


def summary(report: dict[str, Any]) -> str:
    """The report as a short table for people and cron mail."""
    a, stored = report["articles"], report["stored"]
    monitors = report["monitors"]
    failed = [m for m in monitors if m["status"] == "failed"]
    read = report.get("extraction") or {}
    changes = report.get("template_changes") or []
    rows = [
        ("run", f"{report['run_id']}  {report['spider']}  {report['finish_reason']}  exit {report['exit_status']}"),
        ("duration", f"{report['duration_seconds']} s, {report['pages']} pages ({report['pages_per_second']}/s), "
                     f"{report['requests']} requests" + _cpu(report)),
        ("articles", f"new {a['new']}  revised {a['revised']}  unchanged {a['unchanged']}  deleted {a['deleted']}"),
        ("not exported", f"rejected {a['rejected']}  duplicates {a['duplicates']}  near duplicates reported {a['near_duplicates']}"),
        ("stored", f"{stored['records']} records in {stored['parts']} lake parts, {stored['not_stored']} not stored "
                   f"({stored['parts_spooled']} parts spooled)"),
        ("pending", f"{report['pending']['articles']} articles not got, fetched again by the next run; "
                    f"{report['pending']['given_up']} given up"),
        ("extraction", ", ".join(f"{n} read by {_PATH_NAMES.get(p, p)}" for p, n in sorted(read.items())) or "no articles read"),
        ("templates", "; ".join(f"new page structure {c['template']} on {c['articles']} of {c['of']} articles (reported, "
                                "not a failure)" for c in changes) or f"{len(report.get('templates') or {})} seen, none new"),
        ("lake", str(report["lake"] or "-") + (f"  table version {report['table_version']}" if report.get("table_version") is not None else "")),
        ("archive", _archive_row(report)),
        ("errors", ", ".join(f"{k} {v}" for k, v in report["errors"].items()) or "none"),
        ("expected", ", ".join(f"{k} {v}" for k, v in report.get("expected", {}).items()) or "none"),
        ("monitors", f"{len(monitors) - len(failed)} passed, {len(failed)} failed" if monitors else "not run"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"FAILED: {reason}" for reason in report["failures"]]
    return "\n".join(lines)
