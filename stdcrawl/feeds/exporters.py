"""Item exporters that remember which records they wrote (``FEED_EXPORTERS``).

One exporter serves one feed part (Scrapy builds one per slot), so its
``exported`` list is exactly what that part holds when it is stored.
"""

from __future__ import annotations

import json
from typing import Any

from scrapy.exporters import CsvItemExporter, JsonItemExporter, JsonLinesItemExporter, XmlItemExporter

from stdcrawl.record import Article, Rejected, Tombstone, as_dict
from stdcrawl.state import Export


def export_of(item: Any) -> Export | None:
    """What the state store records for an exported item (None for rejects)."""
    if isinstance(item, Article):
        return Export("article", item.id, item.url, tuple(item.aliases), item.channel, item.published_at,
                      item.content_hash, item.revision, item.summary, item.fingerprint)
    if isinstance(item, Tombstone):
        return Export("tombstone", item.id, item.url, tuple(item.aliases), item.channel, None, None, item.revision)
    return None


class _Recording:
    exported: list[Export]

    def export_item(self, item: Any) -> None:
        super().export_item(item)  # type: ignore[misc]
        if (export := export_of(item)) is not None:
            self.exported.append(export)


class RecordingJsonLinesExporter(_Recording, JsonLinesItemExporter):
    """JSON lines; stdcrawl's own records are written straight from their dataclass.

    Scrapy's exporter serialises an item field by field, nested values too, for
    every feed option there is; stdcrawl's records are JSON-shaped already, and
    with no field selection the line is the same, for a fraction of the cost.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exported = []
        self.direct = not self.fields_to_export and not self.export_empty_fields

    def export_item(self, item: Any) -> None:
        if self.direct and isinstance(item, (Article, Tombstone, Rejected)):
            self.file.write((json.dumps(as_dict(item), ensure_ascii=False) + "\n").encode(self.encoding or "utf-8"))
            if (export := export_of(item)) is not None:
                self.exported.append(export)
            return
        super().export_item(item)


class RecordingJsonExporter(_Recording, JsonItemExporter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exported = []


class RecordingCsvExporter(_Recording, CsvItemExporter):
    """CSV: one column per field; a list or object (authors, images, body) is one cell of JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exported = []

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        return super().serialize_field(field, name, value)


class RecordingXmlExporter(_Recording, XmlItemExporter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exported = []
