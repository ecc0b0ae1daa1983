"""The run's outcome, read off its final stats: exit status and summary. Pure, no Scrapy.

Exit status: 0 the run did its job; 1 it failed (a feed part not stored, a
crash in a callback, the spider closed for another reason than "finished",
the crawler did not start); 2 bad usage.
"""

from __future__ import annotations

from typing import Any

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
    if stats.get("stdcrawl/lake/incomplete"):
        reasons.append("the run is not finished in the lake (no _SUCCESS yet): the next run finishes it before crawling")
    crashes = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    if crashes:
        reasons.append(f"{crashes} exception(s) in spider callbacks")
    return reasons


def exit_status(stats: dict[str, Any], *, started: bool = True) -> int:
    if not started:
        return EXIT_FAILED
    if stats.get("finish_reason") == "usage_error":
        return EXIT_USAGE
    return EXIT_FAILED if failures(stats) else EXIT_OK


def _sum(stats: dict[str, Any], prefix: str) -> int:
    return sum(v for k, v in stats.items() if k.startswith(prefix) and isinstance(v, int))


def summary(stats: dict[str, Any], run_id: str, spider: str) -> str:
    """A short table of the run for people and cron mail."""
    s = stats.get
    errors = {k.removeprefix("stdcrawl/spider/failed/"): v for k, v in stats.items() if k.startswith("stdcrawl/spider/failed/")}
    for name in ("not_article", "other_channel"):
        if s(f"stdcrawl/spider/articles/{name}"):
            errors[f"articles/{name}"] = s(f"stdcrawl/spider/articles/{name}")
    elapsed = float(s("elapsed_time_seconds", 0) or 0)
    pages = int(s("response_received_count", 0) or 0)
    rows = [
        ("run", f"{run_id}  {spider}  {s('finish_reason')}  {elapsed:.1f} s"),
        ("pages fetched", f"{pages} ({pages / elapsed if elapsed else 0:.1f}/s), {s('downloader/request_count', 0)} requests"),
        ("articles", f"new {s('stdcrawl/state/new', 0)}  revised {s('stdcrawl/state/revised', 0)}  "
                     f"unchanged {s('stdcrawl/state/unchanged', 0)}  deleted {s('stdcrawl/state/deleted', 0)}"),
        ("not exported", f"rejected {s('stdcrawl/validate/rejected', 0)}  duplicates {_sum(stats, 'stdcrawl/dedupe/duplicate_')}  "
                         f"near duplicates reported {s('stdcrawl/dedupe/near_duplicate', 0)}"),
        ("stored", f"{s('stdcrawl/export/committed', 0)} records in {s('stdcrawl/lake/parts_stored', 0)} lake parts, "
                   f"{s('stdcrawl/export/failed', 0)} not stored ({s('stdcrawl/lake/parts_spooled', 0)} parts spooled)"),
        ("lake", str(s("stdcrawl/lake/run_folder") or s("stdcrawl/lake/root") or "-")),
        ("errors", ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += [f"FAILED: {reason}" for reason in failures(stats)]
    return "\n".join(lines)
