"""The JSON Schemas of the exported records: the contract the data lake gets."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from stdcrawl.record import SCHEMA_VERSION

SCHEMAS = {"article": "article.schema.json", "tombstone": "tombstone.schema.json"}


__all__ = ["SCHEMAS", "SCHEMA_VERSION", "load"]


@cache
def load(kind: str) -> dict[str, Any]:
    """The schema of one record kind ("article" or "tombstone") at SCHEMA_VERSION."""
    return json.loads(files(__name__).joinpath(SCHEMAS[kind]).read_text(encoding="utf-8"))
