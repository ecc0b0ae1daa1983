"""Log lines for dropped items without the whole record: a dropped article is one short line."""

from __future__ import annotations

from typing import Any

from scrapy import logformatter


class LogFormatter(logformatter.LogFormatter):
    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> logformatter.LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        return {**result, "msg": "Dropped: %(exception)s", "args": {"exception": exception}}
