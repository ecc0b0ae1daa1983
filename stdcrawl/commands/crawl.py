"""``stdcrawl crawl``: Scrapy's ``crawl`` with an exit status and a run summary.

Same options as ``scrapy crawl`` (``-a``, ``-s``, ``-o``, ``-O``, logging);
the status and summary come from :mod:`stdcrawl.report`.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import crawl

from stdcrawl import report


class Command(crawl.Command):
    def short_desc(self) -> str:
        return "Run a spider; exit non-zero when the run failed"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        started = not self.crawler_process.bootstrap_failed
        run_report = report.build(stats, crawler.settings.get("STDCRAWL_RUN_ID") or "-", args[0], started=started)
        self.exitcode = run_report["exit_status"]
        print(report.summary(run_report))
        sys.stdout.flush()
