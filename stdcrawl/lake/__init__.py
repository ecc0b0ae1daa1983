"""The data lake: where runs land, and in what shape.

    <root>/stdaily/articles/dt=YYYY-MM-DD/run=<run id>/part-00000.jsonl.gz
                                                      _manifest.json
                                                      _report.json (articles only)
                                                      _FAILED (articles only: the run failed, and why)
                                                      _SUCCESS
    <root>/stdaily/tombstones/...   <root>/stdaily/rejects/...   (same layout)
    <root>/stdaily/_schemas/article/v1.schema.json, tombstone/v1.schema.json

``dt`` is the run's start date (UTC); the run id is sortable (start time) and
unique (a random suffix). The root is ``STDCRAWL_LAKE_URI``: a local path
(default ``<data dir>/lake``) or ``s3://bucket/prefix``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from stdcrawl.urls import redact

PREFIX = "stdaily"
DATASETS = ("articles", "tombstones", "rejects")
MANIFEST = "_manifest.json"
REPORT = "_report.json"
SUCCESS = "_SUCCESS"
FAILED = "_FAILED"  # beside _SUCCESS when the run failed (its data is whole; its run did not do all it should)
_RUN_FOLDER = re.compile(rf"{PREFIX}/(?P<dataset>{'|'.join(DATASETS)})/dt=(?P<dt>\d{{4}}-\d{{2}}-\d{{2}})/run=(?P<run>[^/]+)/")


class LakeURIError(ValueError):
    """A lake URI that cannot be used; the message says why, ``reason`` the same without the URI."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True, slots=True)
class LakeURI:
    """``STDCRAWL_LAKE_URI``, checked: a local path, or s3://bucket/prefix without credentials."""

    uri: str
    scheme: str  # "file" or "s3"
    bucket: str | None
    prefix: str  # path for file, key prefix (no leading or trailing /) for s3

    @classmethod
    def parse(cls, uri: str) -> LakeURI:
        uri = uri.strip()
        if not uri:
            raise LakeURIError("STDCRAWL_LAKE_URI is empty")
        try:
            parts = urlsplit(uri)
        except ValueError:
            raise LakeURIError("STDCRAWL_LAKE_URI is not a URI: use a local path or s3://bucket/prefix") from None
        if parts.username or parts.password or "@" in parts.netloc:
            why = "must not hold credentials: give them in the AWS environment or config files"
            raise LakeURIError(f"STDCRAWL_LAKE_URI {redact(uri)!r} {why}", why)
        if parts.scheme == "s3":
            if not parts.hostname:
                raise LakeURIError(f"STDCRAWL_LAKE_URI {uri!r} has no bucket: use s3://bucket/prefix", "has no bucket: use s3://bucket/prefix")
            return cls(uri.rstrip("/"), "s3", parts.hostname, parts.path.strip("/"))
        if parts.scheme in ("", "file") and not parts.netloc:
            path = parts.path if parts.scheme == "file" else uri
            return cls(uri, "file", None, path.rstrip("/") or "/")
        raise LakeURIError(f"STDCRAWL_LAKE_URI {uri!r}: use a local path or s3://bucket/prefix", "use a local path or s3://bucket/prefix")

    def key_of(self, uri: str) -> str | None:
        """The key below the root of a feed URI, or None when the URI is not in this lake."""
        base = self.join("")
        if self.scheme == "file" and uri.startswith("file://"):
            uri = uri.removeprefix("file://")
        return uri[len(base) :] if uri.startswith(base) else None

    def join(self, key: str) -> str:
        """The feed URI of a key below the root."""
        if self.scheme == "s3":
            return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}{key}"
        return f"{self.prefix}/{key}"


def run_folder(dataset: str, dt: str, run_id: str) -> str:
    return f"{PREFIX}/{dataset}/dt={dt}/run={run_id}/"


def part_template(dataset: str) -> str:
    """A feed URI template below the root; FEED_URI_PARAMS fills dt, run id and a 0-based batch id."""
    return f"{PREFIX}/{dataset}/dt=%(dt)s/run=%(run_id)s/part-%(batch_id)05d.jsonl.gz"


def schema_key(kind: str, version: int) -> str:
    return f"{PREFIX}/_schemas/{kind}/v{version}.schema.json"


def parse_run_folder(key: str) -> tuple[str, str, str] | None:
    """(dataset, dt, run id) of a key inside a run folder."""
    m = _RUN_FOLDER.match(key)
    return (m["dataset"], m["dt"], m["run"]) if m else None
