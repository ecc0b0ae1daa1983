"""Resumable jobs (``STDCRAWL_JOB``): a job that finished starts afresh the next time, and says so.

Scrapy keeps a job's queue, seen requests and spider state in its ``JOBDIR``
(``<data dir>/jobs/<name>``) and resumes from them. Once a run of the job
finishes (finish reason ``finished``), this extension marks the folder
finished; the next run with that job name finds the mark, empties the folder
before Scrapy reads it (:func:`restart_finished`, called by the add-on) and
logs that the job starts afresh. Without this, the third run of a finished
backfill would resume an empty queue: no request, nothing done, exit 0.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)
FINISHED = "stdcrawl-finished"


def restart_finished(jobdir: Path) -> bool:
    """Empty a job folder whose last run finished; True when it did."""
    if not (jobdir / FINISHED).is_file():
        return False
    shutil.rmtree(jobdir)
    jobdir.mkdir(parents=True)
    return True


class FinishedJobs:
    def __init__(self, jobdir: Path, job: str, restarted: bool) -> None:
        self.jobdir = jobdir
        self.job = job
        self.restarted = restarted

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FinishedJobs:
        settings = crawler.settings
        if not settings.get("JOBDIR") or not settings.get("STDCRAWL_JOB"):
            raise NotConfigured
        ext = cls(Path(settings.get("JOBDIR")), settings.get("STDCRAWL_JOB"), settings.getbool("STDCRAWL_JOB_RESTARTED"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        if self.restarted:
            logger.info("The job %s had finished: starting it afresh", self.job)

    def spider_closed(self, reason: str) -> None:
        if reason == "finished":
            self.jobdir.mkdir(parents=True, exist_ok=True)
            (self.jobdir / FINISHED).write_text(reason + "\n", encoding="utf-8")
