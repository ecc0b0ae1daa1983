"""The run report, read off the run's final stats: exit status, summary table, JSON. Pure, no Scrapy.

Exit status: 0 the run did its job; 1 it failed (a monitor failed, a lake part
was not stored, the run is not finished in the lake, a spider callback crashed,
the spider closed for another reason than "finished", the crawler did not
start); 2 bad usage. The same report goes to the terminal as a table and to
the lake as ``_report.json`` beside the run's manifest.
"""

from __future__ import annotations

from typing import Any

from stdcrawl.lake.manifest import counts_from_stats

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def failures(stats: dict[str, Any]) -> list[str]:
    """Why the run failed, one line each; empty when it did not."""
    reasons = []
    reason = stats.get("finish_reason")
    if reason != "finished":
        reasons.append(f"the spider closed with reason {reason!r}, not 'finished'")
    not_stored = sum(v for k, v in stats.items() if k.startswith("feedexport/failed_count/"))
    if not_stored or stats.get("stdcrawl/export/failed_parts"):
        spooled = stats.get("stdcrawl/lake/parts_spooled", 0)
        reasons.append(
            f"{max(not_stored, stats.get('stdcrawl/export/failed_parts', 0))} feed part(s) not stored "
            f"({stats.get('stdcrawl/export/failed', 0)} records): {spooled} kept in the spool, which the next run "
            "uploads before it crawls; the records of any other are fetched and exported again"
        )
    if forbidden := stats.get("stdcrawl/spider/failed/parse_list/robots_txt"):
        reasons.append(f"robots.txt forbids {forbidden} of the channel's list pages: obeyed, so the channel was not crawled")
    if stats.get("stdcrawl/lake/incomplete"):
        reasons.append("the run is not finished in the lake (no _SUCCESS yet): the next run finishes it before crawling")
    crashes = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    if crashes:
        reasons.append(f"{crashes} exception(s) in spider callbacks")
    for result in stats.get("stdcrawl/monitors/results") or []:
        if result["status"] == "failed":
            reasons.append(f"monitor failed: {result['monitor']}: {result['message']}")
    return reasons


def exit_status(stats: dict[str, Any], *, started: bool = True) -> int:
    if not started:
        return EXIT_FAILED
    if stats.get("finish_reason") == "usage_error":
        return EXIT_USAGE
    return EXIT_FAILED if failures(stats) else EXIT_OK


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    errors = {k.removeprefix("stdcrawl/spider/failed/"): v for k, v in stats.items() if k.startswith("stdcrawl/spider/failed/")}
    for name in ("not_article", "other_channel"):
        if stats.get(f"stdcrawl/spider/articles/{name}"):
            errors[f"articles/{name}"] = stats[f"stdcrawl/spider/articles/{name}"]
    for key, value in stats.items():
        if key.startswith("downloader/exception_type_count/") and "IgnoreRequest" not in key:
            errors[f"download/{key.rsplit('.', 1)[-1]}"] = value
    if stats.get("log_count/ERROR"):
        errors["log/ERROR"] = stats["log_count/ERROR"]
    return dict(sorted(errors.items()))


def build(stats: dict[str, Any], run_id: str, spider: str, *, started: bool = True) -> dict[str, Any]:
    """The report of one run, as a JSON-ready dict."""
    elapsed = float(stats.get("elapsed_time_seconds") or 0)
    pages = int(stats.get("response_received_count") or 0)
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
        "articles": {**counts_from_stats(stats), "near_duplicates": stats.get("stdcrawl/dedupe/near_duplicate", 0)},
        "stored": {
            "records": stats.get("stdcrawl/export/committed", 0),
            "parts": stats.get("stdcrawl/lake/parts_stored", 0),
            "not_stored": stats.get("stdcrawl/export/failed", 0),
            "parts_spooled": stats.get("stdcrawl/lake/parts_spooled", 0),
        },
        "pending": {
            "articles": stats.get("stdcrawl/pending/articles", 0),
            "given_up": stats.get("stdcrawl/state/pending_given_up", 0),
        },
        "lake": stats.get("stdcrawl/lake/run_folder") or stats.get("stdcrawl/lake/root"),
        "errors": errors_by_kind(stats),
        "monitors": stats.get("stdcrawl/monitors/results") or [],
        "samples": {k.removeprefix("stdcrawl/samples/"): v for k, v in stats.items() if k.startswith("stdcrawl/samples/")},
    }


def summary(report: dict[str, Any]) -> str:
    """The report as a short table for people and cron mail."""
    a, stored = report["articles"], report["stored"]
    monitors = report["monitors"]
    failed = [m for m in monitors if m["status"] == "failed"]
    rows = [
        ("run", f"{report['run_id']}  {report['spider']}  {report['finish_reason']}  exit {report['exit_status']}"),
        ("duration", f"{report['duration_seconds']} s, {report['pages']} pages ({report['pages_per_second']}/s), "
                     f"{report['requests']} requests"),
        ("articles", f"new {a['new']}  revised {a['revised']}  unchanged {a['unchanged']}  deleted {a['deleted']}"),
        ("not exported", f"rejected {a['rejected']}  duplicates {a['duplicates']}  near duplicates reported {a['near_duplicates']}"),
        ("stored", f"{stored['records']} records in {stored['parts']} lake parts, {stored['not_stored']} not stored "
                   f"({stored['parts_spooled']} parts spooled)"),
        ("pending", f"{report['pending']['articles']} articles not got, fetched again by the next run; "
                    f"{report['pending']['given_up']} given up"),
        ("lake", str(report["lake"] or "-")),
        ("errors", ", ".join(f"{k} {v}" for k, v in report["errors"].items()) or "none"),
        ("monitors", f"{len(monitors) - len(failed)} passed, {len(failed)} failed" if monitors else "not run"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"FAILED: {reason}" for reason in report["failures"]]
    return "\n".join(lines)
