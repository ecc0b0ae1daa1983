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


class Checker:
    """Validates records of one kind: fastjsonschema's compiled check (tens of microseconds), and on
    failure jsonschema's validator, to list every reason rather than the first."""

    def __init__(self, kind: str, max_reasons: int = 10) -> None:
        import fastjsonschema
        from jsonschema import Draft202012Validator

        self._check = fastjsonschema.compile(load(kind))
        self._error = fastjsonschema.JsonSchemaException
        self._validator = Draft202012Validator(load(kind))
        self.max_reasons = max_reasons

    def reasons(self, record: dict[str, Any]) -> list[str]:
        """Empty when ``record`` is valid; else one line per problem (values cut short: a reason
        quoting a 1 MB title must not become a 1 MB log line)."""
        try:
            self._check(record)
            return []
        except self._error:
            pass
        errors = sorted(self._validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
        return [f"{'/'.join(map(str, e.absolute_path)) or '(record)'}: {_short(e.message)}" for e in errors[: self.max_reasons]]


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
