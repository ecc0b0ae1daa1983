"""Object stores under a lake root: the same few operations on a local folder and on S3.

Feed parts go through Scrapy's feed storages; these stores carry the rest
(manifests, ``_SUCCESS``, schemas, spooled parts) and let ``lake verify`` read
a lake back. Local writes are atomic (temporary name, sync, rename). S3 is
reached with boto3: endpoint, region and credentials from the Scrapy settings
(``AWS_ENDPOINT_URL``, ``AWS_REGION_NAME``) when set, else from the standard AWS
environment variables and config files; credentials always come from there (the
add-on moves keys given as settings into the environment).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from stdcrawl.lake import LakeURI


class Store(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str) -> Iterator[str]: ...
    def delete(self, key: str) -> None: ...


def write_atomically(path: Path, source: bytes | IO[bytes], *, append: bool = False) -> None:
    """Write ``path`` whole or not at all: a hidden temporary file beside it, synced, then renamed.

    With ``append`` the new bytes follow what ``path`` held before. A crash
    leaves at most a ``.<name>.<random>.part`` file, never a partial ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with temp.open("wb") as out:
            if append and path.exists():
                with path.open("rb") as before:
                    shutil.copyfileobj(before, out)
            if isinstance(source, bytes):
                out.write(source)
            else:
                shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        temp.unlink(missing_ok=True)


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        write_atomically(self.root / key, data)

    def put_file(self, key: str, path: Path) -> None:
        """Store a file's bytes, read a block at a time (a WARC file is up to its roll size)."""
        with path.open("rb") as source:
            write_atomically(self.root / key, source)

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def keys(self, prefix: str) -> Iterator[str]:
        """Keys below ``prefix``, hidden temporary files (``.*.part``) included: they are debris to report."""
        base = self.root / prefix
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


def s3_client(settings: Any) -> Any:
    """A boto3 S3 client: endpoint and region from the settings when given; credentials from the AWS chain."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.get("AWS_ENDPOINT_URL") or None,
        region_name=settings.get("AWS_REGION_NAME") or None,
        config=Config(retries={"mode": "standard", "max_attempts": settings.getint("STDCRAWL_S3_ATTEMPTS", 3)}),
    )


class S3Store:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)

    def put_file(self, key: str, path: Path) -> None:
        """Store a file's bytes in one PUT, streamed from the file (botocore reads it a block at a time)."""
        with path.open("rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=body)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", ()):
                yield obj["Key"][len(self.prefix) :]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def open_store(lake: LakeURI, settings: Any) -> Store:
    if lake.scheme == "s3":
        assert lake.bucket is not None
        return S3Store(s3_client(settings), lake.bucket, lake.prefix)
    return LocalStore(Path(lake.prefix))
