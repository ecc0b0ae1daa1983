"""Where pages are read: in worker processes beside the crawler, or in its own process.

Extraction (:mod:`stdcrawl.extract`) is pure CPU work on one page at a time,
and the largest share of a crawl's CPU once the site answers fast (a backfill,
``stdcrawl reextract``). With ``STDCRAWL_EXTRACT_WORKERS`` > 0 it runs in that
many worker processes (``python -m stdcrawl.readers``), so the crawler's own
core is left to Scrapy, the pipelines, the export and the archive; with 0 it
runs in the crawler's process. The records are the same either way. The
workers also build the archive's WARC records of each response
(:meth:`Readers.encode`, :func:`stdcrawl.archive.encoding.encode`: hashing and
gzip, the archive's largest cost), which the crawler's writer then only appends.

The crawler talks to a worker over its stdin and stdout, through the event
loop's own pipe transports: no thread in the crawler's process (a thread
would take the interpreter lock from the event loop on every page). A request
and a reply are each one frame, a 4-byte length then a pickle; the worker
holds nothing between pages. Workers start on first use in a session of their
own and ignore SIGINT and SIGTERM: the crawler decides when they stop (after
its last page, by closing their stdin), so a graceful stop still reads the
pages in flight, and a worker whose crawler was killed reads end-of-file and
exits.

A worker that dies with pages in flight (the kernel's OOM killer, a parser
crash on a hostile page) is started again and each of those pages is read
once more; a page that kills a worker twice raises :class:`ReaderCrashed`, and
the spider keeps the article pending. Each death is a log line and a
``stdcrawl/extract/worker_died`` counter.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar, cast

from stdcrawl.archive import ArchiveError, Exchange
from stdcrawl.archive.encoding import Encoded, encode
from stdcrawl.extract import Listing, extract_article, extract_listing
from stdcrawl.paths import child_env
from stdcrawl.record import Article

logger = logging.getLogger(__name__)

T = TypeVar("T")
_LENGTH = struct.Struct(">I")
_READERS: dict[str, Callable[..., Any]] = {"article": extract_article, "listing": extract_listing}


class ReaderCrashed(Exception):
    """The page killed an extraction worker twice: it is not read this run; ``str(exc)`` is a one-line reason."""


class _WorkerDied(Exception):
    pass


class Readers:
    """Read article and list pages, and build responses' WARC records, in ``workers`` processes (0: in this one);
    see the module docstring.

    ``died`` is called with a one-line description each time a worker dies
    (the spider counts it). Call :meth:`close` when the crawl ends.
    """

    def __init__(self, workers: int, died: Callable[[str], None] | None = None, gc_threshold: int = 0) -> None:
        if workers < 0:
            raise ValueError(f"extraction workers must be 0 or more, not {workers}")
        self.workers = workers
        self.gc_threshold = gc_threshold
        self.deaths = 0
        self._died = died
        self._pool: list[_Worker | None] = [None] * workers
        self._turn = 0

    async def article(self, body: bytes, url: str, content_type: str | None = None) -> Article:
        """The article on the page; raises :class:`~stdcrawl.extract.NotAnArticle` or :class:`ReaderCrashed`."""
        return cast(Article, await self._read("article", url, (body, url, content_type)))

    async def listing(self, body: bytes, url: str, content_type: str | None = None) -> Listing:
        """The entries of a list page; raises :class:`ReaderCrashed`."""
        return cast(Listing, await self._read("listing", url, (body, url, content_type)))

    async def encode(self, exchange: Exchange, warcinfo_id: str, level: int) -> Encoded | None:
        """The exchange's WARC records built by a worker (:func:`~stdcrawl.archive.encoding.encode`).

        None when there are no workers, or when the worker could not build them
        (it died twice, fastwarc refused, anything else: a WARNING line): the
        archive's writer then builds them itself, and says so if it cannot either.
        """
        if not self.workers:
            return None
        try:
            return cast(Encoded, await self._read("warc", exchange.url, (exchange, warcinfo_id, level)))
        except (ReaderCrashed, ArchiveError):  # logged as a death; the writer reports a record it cannot build either
            return None
        except Exception as exc:  # noqa: BLE001  a bug there must not cost the page: the writer does the same work
            logger.warning("A worker could not build the WARC records of %s (%s: %s); the crawler builds them",
                           exchange.url, type(exc).__name__, exc)
            return None

    async def _read(self, kind: str, url: str, args: tuple[Any, ...]) -> Any:
        for _ in range(2):
            if (worker := await self._next()) is None:
                return _run(kind, args)
            try:
                return await worker.read(kind, args)
            except _WorkerDied as exc:
                self._dead(worker, url, str(exc))
        raise ReaderCrashed(f"reading {url} killed an extraction worker twice")

    async def _next(self) -> _Worker | None:
        """The next worker in turn, started if it is not running; None: read in this process."""
        if not self.workers:
            return None
        at = self._turn = (self._turn + 1) % self.workers
        worker = self._pool[at]
        try:
            if worker is None:
                worker = self._pool[at] = _Worker(self.gc_threshold)
            await worker.started
        except OSError as exc:  # no process or pipe to be had: the pages are still read, here
            logger.warning("Cannot start an extraction worker (%s): reading the pages in the crawler's process", exc)
            self.close()
            self.workers = 0
            return None
        return worker

    def _dead(self, worker: _Worker, url: str, why: str) -> None:
        # Every page in flight in a dead worker lands here: one log line and one new worker, not one per page.
        if worker not in self._pool:
            return
        self._pool[self._pool.index(worker)] = None
        self.deaths += 1
        message = f"an extraction worker died ({why}) with {url} in flight; its pages are read again in a new one"
        logger.warning("%s", message)
        if self._died is not None:
            self._died(message)

    def close(self) -> None:
        """Stop the workers (they have nothing left to read once the crawl closes)."""
        for worker in self._pool:
            if worker is not None:
                worker.close()
        self._pool = [None] * self.workers


class _Worker:
    """One worker process and its two pipes, driven by the running event loop."""

    command: tuple[str, ...] = ("-m", "stdcrawl.readers")  # after the interpreter

    def __init__(self, gc_threshold: int = 0) -> None:
        self.process = subprocess.Popen([sys.executable, *self.command, str(gc_threshold)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, start_new_session=True, env=child_env())
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._ids = 0
        self._buffer = bytearray()
        self._out: asyncio.WriteTransport | None = None
        self._death: str | None = None
        self.started = asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        self._out, _ = await loop.connect_write_pipe(asyncio.Protocol, cast(BinaryIO, self.process.stdin))
        await loop.connect_read_pipe(lambda: _Replies(self), cast(BinaryIO, self.process.stdout))

    async def read(self, kind: str, args: tuple[Any, ...]) -> Any:
        if self._death is not None or self._out is None or self._out.is_closing():
            raise _WorkerDied(self._death or "its pipe is closed")
        self._ids += 1
        future = self._waiting[self._ids] = asyncio.get_running_loop().create_future()
        frame = pickle.dumps((self._ids, kind, args), protocol=pickle.HIGHEST_PROTOCOL)
        self._out.write(_LENGTH.pack(len(frame)) + frame)
        ok, value = await future
        if ok:
            return value
        raise value

    def received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 4:
            (size,) = _LENGTH.unpack_from(self._buffer)
            if len(self._buffer) < 4 + size:
                return
            task, ok, value = pickle.loads(self._buffer[4 : 4 + size])
            del self._buffer[: 4 + size]
            if (future := self._waiting.pop(task, None)) is not None and not future.done():
                future.set_result((ok, value))

    def lost(self) -> None:
        """Its stdout ended: the worker is gone; everything in flight fails with the reason."""
        code = self.process.poll()
        if code is None:
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
        self._death = f"exit status {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(_WorkerDied(self._death))
        self._waiting.clear()

    def close(self) -> None:
        # End of file on its stdin and it exits. Nothing is in flight once the crawl closes, so the pipe is
        # closed here and now: the transport would close it on a later turn of the loop this wait holds up.
        if self._out is not None:
            self._out.close()
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Replies(asyncio.Protocol):
    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    def data_received(self, data: bytes) -> None:
        self.worker.received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.lost()


def _run(kind: str, args: tuple[Any, ...]) -> Any:
    """One job: a page read (``article``, ``listing``: body, URL, content type) or an exchange encoded (``warc``)."""
    if kind == "warc":
        return encode(*args)
    body, url, content_type = args
    return _READERS[kind](body, url, content_type=content_type)


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """The worker's loop: read a frame, do its job, write the reply, until end of file."""
    while header := requests.read(4):
        (size,) = _LENGTH.unpack(header)
        task, kind, args = pickle.loads(requests.read(size))
        try:
            reply = (task, True, _run(kind, args))
        except Exception as exc:  # the crawler raises it as if the page had been read in its own process
            reply = (task, False, exc)
        try:
            frame = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            frame = pickle.dumps((task, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        replies.write(_LENGTH.pack(len(frame)) + frame)
        replies.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if (threshold := int(sys.argv[1]) if len(sys.argv) > 1 else 0) > 0:  # as the crawler's (extensions/collector.py)
        gc.collect()
        gc.freeze()
        gc.set_threshold(threshold, *gc.get_threshold()[1:])
    # The replies get stdout to themselves: anything else printed goes to stderr, never into a frame.
    _replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _serve(sys.stdin.buffer, _replies)
