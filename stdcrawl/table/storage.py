"""Where the current-articles table lives and how delta-rs reaches it. Pure, no Scrapy.

The table sits below the lake root, at ``<root>/stdaily/tables/articles``
(away from the run folders, so ``lake verify`` and globs of
``stdaily/articles/`` never see it). On S3, :func:`storage_options` gives
delta-rs the project's AWS settings (``AWS_ENDPOINT_URL``, ``AWS_REGION_NAME``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) when
they are set, exactly as :func:`stdcrawl.lake.stores.s3_client` gives them to
boto3; otherwise delta-rs resolves the standard AWS chain itself (environment
variables, profiles, instance roles). Nothing is read at import time.

Safe concurrent commits on S3. delta-rs (1.x) commits a version by writing
``_delta_log/<version>.json`` with ``If-None-Match: *``: the store refuses the
second writer of a version (412), which then re-reads the log, checks for a
conflict and takes the next version. This needs a store that honours
conditional writes: AWS S3 (since August 2024), MinIO releases of mid-2024 and
later, moto 5. ``conditional_put=etag`` is set explicitly so that a change of
default cannot silently turn it off, and ``AWS_S3_ALLOW_UNSAFE_RENAME`` is
never set (it would let two writers overwrite each other's version). delta-rs
1.x has no DynamoDB lock any more: a ``AWS_S3_LOCKING_PROVIDER=dynamodb`` is
ignored with an error in its log. ``STDCRAWL_S3_ATTEMPTS`` bounds the attempts
per request, as for the lake's parts.
"""

from __future__ import annotations

import os
from typing import Any

from stdcrawl.lake import PREFIX, LakeURI

TABLE_KEY = f"{PREFIX}/tables/articles"

# Scrapy setting -> delta-rs (object_store) option; the same settings boto3 gets in stdcrawl.lake.stores.
_AWS_SETTINGS = {
    "AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN": "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL": "AWS_ENDPOINT_URL",
    "AWS_REGION_NAME": "AWS_REGION",
}


def table_uri(lake: LakeURI) -> str:
    """The table's location below a lake root: a local path or ``s3://bucket/prefix/...``."""
    return lake.join(TABLE_KEY)


def storage_options(lake: LakeURI, settings: Any) -> dict[str, str]:
    """delta-rs storage options for a lake root, from the project's settings (a Scrapy ``Settings`` or a dict).

    Empty for a local lake. Holds credentials when the settings do: never log it.
    """
    if lake.scheme != "s3":
        return {}
    options: dict[str, str] = {}
    for setting, option in _AWS_SETTINGS.items():
        value = settings.get(setting)
        if value:
            options[option] = str(value)
    endpoint = options.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"  # a MinIO or a test server without TLS
    if endpoint:
        options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"  # S3-compatible stores address buckets by path
    options["conditional_put"] = "etag"
    attempts = _int(settings.get("STDCRAWL_S3_ATTEMPTS"), 3)
    options["max_retries"] = str(max(attempts - 1, 0))
    options["retry_timeout"] = "60s"
    return options


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
