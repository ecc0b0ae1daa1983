"""What the current-articles table raises: one base type, a one-line message each. Pure, no Scrapy.

- :class:`TableWriteError`: the table could not be written now (the store is
  down or refuses, a concurrent commit kept conflicting). Nothing of the run is
  in the table; the caller keeps the run and commits it again later.
- :class:`TableSchemaError`: the location holds a Delta table that is not ours
  (other columns or types, another partitioning than asked for, no change data
  feed). Retrying does not help; a person decides.
- :class:`TableMissing`: no table at the location, for a read (a commit creates it).
- :class:`RecordError`: a record that does not fit the table's schema. Nothing
  of the run is committed; the record is named.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ARROW = re.compile(r"\s*↳\s*")


class TableError(Exception):
    """Base of the table's errors; ``str()`` is one line."""


class TableMissing(TableError):
    """There is no Delta table at the location (yet): reading it is an error, committing creates it."""


class TableWriteError(TableError):
    """The table could not be written now: keep the run and commit it again later."""


class TableSchemaError(TableError):
    """The location holds a table whose schema or layout is not the current-articles table's."""


class RecordError(TableError):
    """A record that does not fit the table's schema."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, shortened: delta-rs errors can span many lines."""
    # delta-rs nests its causes over several lines, each after a coloured arrow: one clause after another here.
    text = " ".join(_ARROW.sub(": ", _ANSI.sub("", str(exc))).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
