"""The current-articles table's columns, declared, and records turned into Arrow rows. Pure: pyarrow only, no Scrapy.

The schema is written out here, never inferred from data: every field of the
article record (``stdcrawl/schema/article.schema.json``, schema version 2) with
its type and nullability, then the derived columns ``published_date`` (the
Beijing calendar date) and ``published_year`` (its year, the default partition
column; readers filter on it whatever the partitioning), and the month when a
table is partitioned by it.

Time zones. Delta Lake has one timestamp type, an instant normalised to UTC
(``timestamp[us, tz=UTC]`` in Arrow), and keeps no zone per value. Records give
``published_at`` in Beijing time (always ``+08:00``) and ``crawled_at`` in UTC;
both are stored as the same instant, so a reader gets UTC back (deltalake and
polars: ``datetime[us, UTC]``; DuckDB: ``TIMESTAMP WITH TIME ZONE``). Beijing
wall time is that instant at +08:00 (``AT TIME ZONE 'Asia/Shanghai'``); the
Beijing date, the one a story is "published on", is the ``published_date``
column, and the year and month partitions are Beijing's too. China has kept
UTC+8 all year since 1991, so a fixed offset is exact.

Failure modes: a record that does not fit (a missing or null required field, a
wrong type, a field the schema does not know, another schema version) raises
:class:`~stdcrawl.table.errors.RecordError` naming the record and the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from stdcrawl.record import SCHEMA_VERSION
from stdcrawl.table.errors import RecordError

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
UTC_MICROS = pa.timestamp("us", tz="UTC")

# What each candidate partitioning partitions by; "year" is the default (see stdcrawl/table/__init__.py).
PARTITIONINGS: dict[str, tuple[str, ...]] = {
    "none": (),
    "year": ("published_year",),
    "month": ("published_month",),
    "channel": ("channel",),
    "year_channel": ("published_year", "channel"),
}
DEFAULT_PARTITIONING = "year"


def _list(item: pa.DataType) -> pa.DataType:
    # Delta's arrays say whether they hold nulls (containsNull): the records' lists never do.
    return pa.list_(pa.field("element", item, nullable=False))


def _f(name: str, kind: pa.DataType, nullable: bool = False) -> pa.Field[Any]:
    return pa.field(name, kind, nullable=nullable)


IMAGE = pa.struct([
    _f("url", pa.string(), True),  # null for a caption whose picture is missing
    _f("caption", pa.string(), True),
    _f("credit", pa.string(), True),
    _f("aliases", _list(pa.string())),
])
SECTION = pa.struct([_f("heading", pa.string(), True), _f("paragraphs", _list(pa.string()))])
PROVENANCE = pa.struct([
    _f("url", pa.string()),
    _f("warc", pa.string()),
    _f("offset", pa.int64()),
    _f("record_id", pa.string()),
    _f("payload_digest", pa.string()),
])

# Every field of the article record, in its order; nullable where the JSON Schema allows null.
ARTICLE_FIELDS: tuple[pa.Field[Any], ...] = (
    _f("id", pa.string()),
    _f("url", pa.string()),
    _f("aliases", _list(pa.string())),
    _f("fetched_url", pa.string(), True),
    _f("channel", pa.string()),
    _f("section_label", pa.string(), True),
    _f("title", pa.string()),
    _f("published_at", UTC_MICROS),
    _f("source", pa.string(), True),
    _f("authors", _list(pa.string())),
    _f("byline", pa.string(), True),
    _f("editor", pa.string(), True),
    _f("images", _list(IMAGE)),
    _f("summary", pa.string(), True),
    _f("body", _list(SECTION)),
    _f("text", pa.string()),
    _f("word_count", pa.int32()),
    _f("language", pa.string()),
    _f("content_hash", pa.string()),
    _f("fingerprint", pa.string()),
    _f("crawled_at", UTC_MICROS),
    _f("parser", pa.string()),
    _f("template", pa.string(), True),
    _f("charset", pa.string(), True),
    _f("replacement_chars", pa.int32()),
    _f("run_id", pa.string()),  # the run that exported this revision (the committing run when a record lacks it)
    _f("provenance", _list(PROVENANCE)),
    _f("revision", pa.int32()),
    _f("previous_content_hash", pa.string(), True),
    _f("deleted", pa.bool_()),  # always false: a tombstoned story has no row
    _f("schema_version", pa.int32()),
)
RECORD_FIELDS = frozenset(f.name for f in ARTICLE_FIELDS)
DERIVED_FIELDS: dict[str, pa.Field[Any]] = {
    "published_date": _f("published_date", pa.date32()),  # Beijing date
    "published_year": _f("published_year", pa.int32()),  # Beijing year
    "published_month": _f("published_month", pa.string()),  # Beijing "YYYY-MM"
}
_TIMESTAMPS = ("published_at", "crawled_at")
_REQUIRED = tuple(f.name for f in ARTICLE_FIELDS if not f.nullable and f.name != "run_id")


def partition_columns(partitioning: str) -> tuple[str, ...]:
    try:
        return PARTITIONINGS[partitioning]
    except KeyError:
        raise ValueError(f"unknown table partitioning {partitioning!r}: use one of {', '.join(PARTITIONINGS)}") from None


def table_schema(partition_by: Sequence[str]) -> pa.Schema:
    """The table's Arrow schema: the record's fields, ``published_date`` and ``published_year`` (Beijing), and
    ``published_month`` when the table is partitioned by it."""
    fields = [*ARTICLE_FIELDS, DERIVED_FIELDS["published_date"], DERIVED_FIELDS["published_year"]]
    if "published_month" in partition_by:
        fields.append(DERIVED_FIELDS["published_month"])
    return pa.schema(fields)


def source_schema(partition_by: Sequence[str]) -> pa.Schema:
    """The MERGE source: the table's columns, all nullable (a delete row carries only id and revision),
    the operation, and for each partition column the partition the story's row is in now."""
    table = table_schema(partition_by)
    fields = [f.with_nullable(True) for f in table]
    fields.append(pa.field("_op", pa.string(), nullable=False))  # "upsert" | "delete"
    fields += [table.field(name).with_name(f"_match_{name}").with_nullable(True) for name in partition_by]
    return pa.schema(fields)


def parse_time(value: Any, *, record_id: str, name: str) -> dt.datetime:
    """An ISO 8601 time with an offset, as an aware datetime; RecordError otherwise."""
    if not isinstance(value, str):
        raise RecordError(f"record {record_id}: {name} is {type(value).__name__}, not an ISO 8601 string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"record {record_id}: {name} {value[:40]!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise RecordError(f"record {record_id}: {name} {value[:40]!r} has no UTC offset")
    return parsed


def article_row(record: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """One article record as a table row (plus the derived columns); RecordError when it does not fit."""
    record_id = str(record.get("id") or "<no id>")
    unknown = set(record) - RECORD_FIELDS
    if unknown:
        raise RecordError(f"record {record_id}: fields the table does not know: {', '.join(sorted(unknown))}")
    if record.get("schema_version") != SCHEMA_VERSION:
        raise RecordError(f"record {record_id}: schema_version {record.get('schema_version')!r}, the table holds {SCHEMA_VERSION}")
    if record.get("deleted") is not False:
        raise RecordError(f"record {record_id}: deleted is {record.get('deleted')!r} in an article record")
    for name in _REQUIRED:
        if record.get(name) is None:
            raise RecordError(f"record {record_id}: {name} is missing or null")
    row = dict(record)
    for name in _TIMESTAMPS:
        row[name] = parse_time(record[name], record_id=record_id, name=name)
    row["run_id"] = record.get("run_id") or run_id
    local = row["published_at"].astimezone(BEIJING)
    row["published_date"] = local.date()
    row["published_year"] = local.year
    row["published_month"] = f"{local.year:04d}-{local.month:02d}"
    return row


def delete_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A tombstone record as a MERGE delete row: id and revision are all it needs."""
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise RecordError(f"tombstone without an id: {str(dict(record))[:80]}")
    if record.get("deleted") is not True:
        raise RecordError(f"record {record_id}: deleted is {record.get('deleted')!r} in a tombstone")
    revision = record.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise RecordError(f"record {record_id}: tombstone revision {revision!r} is not a positive integer")
    return {"id": record_id, "revision": revision}


def to_arrow(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows as an Arrow table of ``schema``; a row that does not convert is named in a RecordError."""
    rows = list(rows)
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    for row in rows:  # find the culprit: rare, so the slow way
        for name in schema.names:
            try:
                pa.array([row.get(name)], type=schema.field(name).type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
                message = str(exc).splitlines()[0][:120]
                raise RecordError(f"record {row.get('id', '<no id>')}: {name} does not fit {schema.field(name).type}: {message}") from None
    raise RecordError("records do not fit the table's schema")  # pragma: no cover - every row converts alone
