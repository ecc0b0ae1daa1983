"""Feed storages for lake parts: stored whole or not at all, checksummed, spooled when they cannot be stored.

Both storages compute the part's size and SHA-256 while storing it (the run's
manifest lists them) and remember the outcome (``stored``, ``error``), which
the export ledger reads when Scrapy closes the slot. When a lake part cannot
be stored, its bytes are kept in the spool, ``<data dir>/spool/run=<run id>/<key>``,
and the next run uploads them before it crawls: nothing fetched is lost.

- :class:`LocalFeedStorage` (``file://`` and plain paths): written beside the
  target and renamed into place, so a reader never sees half a part.
- :class:`S3PartStorage` (``s3://``): Scrapy's S3 feed storage, with a client
  that honours ``STDCRAWL_S3_ATTEMPTS`` retries and the AWS settings or
  environment (see :func:`stdcrawl.lake.stores.s3_client`).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.extensions.feedexport import BlockingFeedStorage, S3FeedStorage
from twisted.internet.defer import Deferred
from w3lib.url import file_uri_to_path

from stdcrawl.lake import lake_uri
from stdcrawl.lake.stores import s3_client, write_atomically

logger = logging.getLogger(__name__)


def spool_dir(settings: Any, run_id: str | None = None) -> Path:
    base = Path(settings.get("STDCRAWL_DATA_DIR") or "data") / "spool"
    return base / f"run={run_id}" if run_id else base


class _Part:
    """What both storages share: checksum, outcome, spool."""

    key: str | None = None  # below the lake root, for lake feeds
    spool: Path | None = None  # where the part goes when it cannot be stored
    stored: bool | None = None
    error: str | None = None
    size = 0
    sha256 = ""
    spooled: Path | None = None

    def _lake_part(self, crawler: Crawler, uri: str, feed_options: dict[str, Any] | None) -> None:
        settings = crawler.settings
        if (feed_options or {}).get("stdcrawl_dataset"):
            self.key = lake_uri(settings).key_of(uri)
            if self.key:
                self.spool = spool_dir(settings, settings.get("STDCRAWL_RUN_ID")) / self.key

    def store(self, file: IO[bytes]) -> Deferred[None]:
        d: Deferred[None] = super().store(file)  # type: ignore[misc]
        d.addCallbacks(self._ok, self._failed)
        return d

    def _ok(self, result: None) -> None:
        self.stored = True
        return result

    def _failed(self, failure: Any) -> Any:
        self.stored = False
        self.error = f"{failure.type.__name__}: {failure.value}"
        return failure

    def _store_in_thread(self, file: IO[bytes]) -> None:
        try:
            digest = hashlib.sha256()
            file.seek(0)
            while chunk := file.read(1 << 20):
                digest.update(chunk)
            self.size, self.sha256 = file.tell(), digest.hexdigest()
            file.seek(0)
            if self.spool is None:
                self._put(file)
                return
            # A lake part is staged in the spool first (a failed upload may close the file it
            # was given), stored from there, and leaves the spool only once it is stored.
            write_atomically(self.spool, file)
            self.spooled = self.spool
            with self.spool.open("rb") as staged:
                self._put(staged)
            self.spool.unlink()
            self.spooled = None
        finally:
            file.close()

    def _put(self, file: IO[bytes]) -> None:
        raise NotImplementedError


class LocalFeedStorage(_Part, BlockingFeedStorage):
    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None) -> None:
        self.path = Path(file_uri_to_path(uri) if uri.startswith("file:") else uri)
        self.append = not (feed_options or {}).get("overwrite", False)

    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str, *, feed_options: dict[str, Any] | None = None) -> LocalFeedStorage:
        storage = cls(uri, feed_options=feed_options)
        storage._lake_part(crawler, uri, feed_options)
        return storage

    def _put(self, file: IO[bytes]) -> None:
        write_atomically(self.path, file, append=self.append)


class S3PartStorage(_Part, S3FeedStorage):
    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str, *, feed_options: dict[str, Any] | None = None) -> S3PartStorage:
        storage = super().from_crawler(crawler, uri, feed_options=feed_options)
        storage.s3_client = s3_client(crawler.settings)
        storage._lake_part(crawler, uri, feed_options)
        return storage

    def _put(self, file: IO[bytes]) -> None:
        extra = {"ExtraArgs": {"ACL": self.acl}} if self.acl else {}
        self.s3_client.upload_fileobj(Bucket=self.bucketname, Key=self.keyname, Fileobj=file, **extra)
