"""Feed storages that never show a half-written file and remember whether they stored.

:class:`LocalFeedStorage` replaces Scrapy's file storage for ``file://`` and
plain paths: the exporter writes to a temporary file, and ``store`` copies it
beside the target as ``.<name>.<random>.part``, syncs it and renames it into
place in one step, so a reader sees the whole part or nothing. ``-o`` (append)
keeps what the target held before. ``stored`` is None until a store is tried,
then True or False; the export ledger reads it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import IO, Any

from scrapy.extensions.feedexport import BlockingFeedStorage
from w3lib.url import file_uri_to_path
from twisted.internet.defer import Deferred


class LocalFeedStorage(BlockingFeedStorage):
    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None) -> None:
        self.path = Path(file_uri_to_path(uri) if uri.startswith("file:") else uri)
        self.overwrite = bool((feed_options or {}).get("overwrite", False))
        self.stored: bool | None = None
        self.error: str | None = None

    def store(self, file: IO[bytes]) -> Deferred[None]:
        d = super().store(file)
        d.addCallbacks(self._ok, self._failed)
        return d

    def _ok(self, result: None) -> None:
        self.stored = True
        return result

    def _failed(self, failure: Any) -> Any:
        self.stored = False
        self.error = str(failure.value)
        return failure

    def _store_in_thread(self, file: IO[bytes]) -> None:
        part = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with part.open("wb") as out:
                if not self.overwrite and self.path.exists():
                    with self.path.open("rb") as before:
                        shutil.copyfileobj(before, out)
                file.seek(0)
                shutil.copyfileobj(file, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, self.path)
            _fsync_dir(self.path.parent)
        finally:
            part.unlink(missing_ok=True)
            file.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
