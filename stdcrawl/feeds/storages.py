"""Feed storages for lake parts: stored whole or not at all, checksummed, spooled when they cannot be stored.

Both storages compute the part's size and SHA-256 while storing it (the run's
manifest lists them) and remember the outcome (``stored``, ``error``), which
the export ledger reads when Scrapy closes the slot. A lake part is staged
in the spool (:mod:`stdcrawl.state.spool`) before it is stored and stays there
until the export ledger has committed it; when it cannot be stored, the ledger
keeps it there for the next run, which uploads it before it crawls: nothing
fetched is lost.

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

from stdcrawl.lake.stores import s3_client, write_atomically
from stdcrawl.paths import paths
from stdcrawl.state.spool import Spool

logger = logging.getLogger(__name__)


class _Part:
    """What both storages share: checksum, outcome, spool."""

    key: str | None = None  # below the lake root, for lake feeds
    spool: Spool | None = None  # lake parts are staged here before they are stored
    run_id = ""
    stored: bool | None = None
    error: str | None = None
    size = 0
    sha256 = ""
    spooled: Path | None = None  # the staged copy; the ledger releases it once committed

    def _lake_part(self, crawler: Crawler, uri: str, feed_options: dict[str, Any] | None) -> None:
        settings = crawler.settings
        if (feed_options or {}).get("stdcrawl_dataset"):
            where = paths(settings)
            self.key = where.lake.key_of(uri)
            if self.key:
                self.spool, self.run_id = Spool(where.spool), settings.get("STDCRAWL_RUN_ID")

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
            if self.spool is None or self.key is None:
                self._put(file)
                return
            # A lake part is staged in the spool first (a failed upload may close the file it
            # was given) and stored from there; it leaves the spool once the ledger committed it.
            self.spooled = self.spool.stage(self.run_id, self.key, file)
            with self.spooled.open("rb") as staged:
                self._put(staged)
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
