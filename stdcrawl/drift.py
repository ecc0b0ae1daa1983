"""Template changes, judged against the site's own recent runs: pure, no Scrapy.

Every article carries a signature of the page structure around the parts the
text reader found (``template``, see :mod:`stdcrawl.extract`); the spider counts
articles per signature (``stdcrawl/spider/articles/template/<signature>``), and
the run's stats are kept in the state store's run history. A **template
change** is a signature no run in the history saw, carried by at least
``STDCRAWL_TEMPLATE_CHANGE_SHARE`` of this run's articles: the site was
redesigned. With nothing lost (the monitors judge that: articles that stop
reading as articles, field coverage against history, list pages without links)
it is reported, never a failure: a WARNING, a line in the run report and a
``template_changes`` field in the manifest naming a few pages. A first run has
no history: it learns the templates and reports none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stdcrawl import events


def templates(stats: dict[str, Any]) -> dict[str, int]:
    """Articles per template signature in one run's stats."""
    return {k.removeprefix(events.TEMPLATE_PREFIX): int(v) for k, v in stats.items() if k.startswith(events.TEMPLATE_PREFIX)}


def template_changes(stats: dict[str, Any], history: Iterable[dict[str, Any]], share: float) -> list[dict[str, Any]]:
    """The signatures new in this run (none of the history's runs saw them) on at least ``share`` of its articles."""
    known: set[str] = set()
    compared = False
    for earlier in history:
        found = templates(earlier)
        compared = compared or bool(found)
        known |= set(found)
    current = templates(stats)
    total = sum(current.values())
    if not compared or not total:
        return []
    return [
        {"template": signature, "articles": count, "of": total,
         "samples": list(stats.get(events.samples(f"template/{signature}")) or [])}
        for signature, count in sorted(current.items(), key=lambda item: -item[1])
        if signature not in known and count >= max(1.0, share * total)
    ]


def paths_read(stats: dict[str, Any]) -> dict[str, int]:
    """Articles per extraction path (``text``, ``selectors``)."""
    return {k.removeprefix(events.ARTICLE_PATH_PREFIX): int(v) for k, v in stats.items() if k.startswith(events.ARTICLE_PATH_PREFIX)}
