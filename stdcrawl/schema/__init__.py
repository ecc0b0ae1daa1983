"""The JSON Schemas of the exported records: the contract the data lake gets, and its data dictionary."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.resources import files
from typing import Any

from stdcrawl.record import SCHEMA_VERSION

SCHEMAS = {"article": "article.schema.json", "tombstone": "tombstone.schema.json"}


__all__ = ["SCHEMAS", "SCHEMA_VERSION", "load", "raw"]


@cache
def raw(kind: str) -> bytes:
    """The shipped schema file of one record kind, byte for byte: what the lake publishes."""
    return files(__name__).joinpath(SCHEMAS[kind]).read_bytes()


def load(kind: str) -> dict[str, Any]:
    """The schema of one record kind ("article" or "tombstone") at SCHEMA_VERSION, as a fresh dict.

    A fresh copy each time: schema compilers (fastjsonschema) rewrite the dict they are given.
    """
    return copy.deepcopy(_parsed(kind))


@cache
def _parsed(kind: str) -> dict[str, Any]:
    return json.loads(raw(kind))
