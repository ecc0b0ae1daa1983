"""The replica's HTTP server: a deterministic stdaily on 127.0.0.1.

:class:`Router` maps a path to a response and holds the only per-process state
(the request counter that reshuffles "Top News", and the counts behind the
article that answers 503 twice before it answers). :class:`ReplicaServer` serves
it from a background thread, records every request it receives, and refuses
proxy requests for other hosts, so a test can prove nothing left for elsewhere.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import sys
import time
from dataclasses import asdict, dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from stdcrawl.replica import faults, render
from stdcrawl.replica.model import CHANNEL_SPECS, NESTED_DIVS_PATH, ReplicaConfig, SiteModel

_LEGACY_LIST = re.compile(r"/English/(?P<folder>[A-Za-z]+)/common_list(?:_(?P<page>\d+))?\.shtml")
_WEB_LIST = re.compile(r"/web/English/node_(?P<node>\d+)(?:_(?P<page>\d+))?\.html")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    # What the connection does beyond HTTP: "reset" mid-body, "short" (fewer bytes than
    # Content-Length), or a stall of this many seconds before answering.
    transport: str | None = None
    stall: float = 0.0


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    target: str  # as sent: a path, or a whole URL when someone used us as a proxy
    host: str  # Host header
    status: int
    at: float


def _html(status: int, text: str, charset: str = "utf-8") -> Reply:
    return Reply(status, text.encode(charset, errors="xmlcharrefreplace"), f"text/html; charset={charset.upper()}")


class Router:
    """Path -> reply, for one site model.

    With ``cache``, a page is rendered once and served as it was ("Top News"
    then stops changing): for benchmarks, where the replica must not be the
    bottleneck of the crawler it serves.
    """

    def __init__(self, model: SiteModel, cache: bool = False) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._requests = 0
        self._flaky_hits: dict[str, int] = {}
        self._cache: dict[str, Reply] | None = {} if cache else None

    def _next_request_no(self) -> int:
        with self._lock:
            self._requests += 1
            return self._requests

    def route(self, path: str) -> Reply:
        if self._cache is None:
            return self._route(path)
        if (cached := self._cache.get(path)) is None:
            cached = self._route(path)
            if cached.status == 200:
                self._cache[path] = cached
        return cached

    def _route(self, path: str) -> Reply:
        model = self.model
        n = self._next_request_no()
        if path == "/robots.txt":
            return Reply(200, render.robots_txt(model).encode(), "text/plain; charset=utf-8")
        if path in ("/English/index.shtml", "/English/", "/English/index.html"):
            return _html(200, render.home_page(model, "legacy", n))
        if path in ("/web/English/index.html", "/web/English/"):
            return _html(200, render.home_page(model, "web", n))
        if path.startswith(("/web/English/pic/", "/English/pic/", "/English/images/", "/web/English/images/")):
            return Reply(200, _PIXEL, "image/gif")
        if reply := self._list(path, n):
            return reply
        if path == NESTED_DIVS_PATH and "nested-divs" in model.config.faults:
            return _html(200, render.nested_divs_page())
        if found := model.by_path.get(path):
            story, generation = found
            if not story.alive(model.epoch):
                return _html(404, render.not_found_page())
            if fault := model.faulty.get(path):
                with self._lock:
                    hits = self._flaky_hits[path] = self._flaky_hits.get(path, 0) + 1
                reply = faults.reply(fault, hits, path, lambda: render.article_page(model, story, generation, n), model.config)
                if reply is not None:
                    return reply
            if story.flaky:
                with self._lock:
                    hits = self._flaky_hits[path] = self._flaky_hits.get(path, 0) + 1
                if hits <= 2:
                    reply = _html(503, "<html><body>Service Temporarily Unavailable</body></html>")
                    if model.config.retry_after:
                        return replace(reply, headers=(("Retry-After", str(model.config.retry_after)),))
                    return reply
            charset = "gbk" if story.encoding == "gbk" else "utf-8"
            return _html(200, render.article_page(model, story, generation, n), charset)
        if entry := model.hostile_by_path.get(path):
            if entry.kind == "broken":
                return _html(500, "<html><body>Internal Server Error</body></html>")
            if entry.kind in ("special", "topic"):
                return _html(200, render.special_page(model, entry, n))
        return _html(404, render.not_found_page())

    def _list(self, path: str, n: int) -> Reply | None:
        if m := _LEGACY_LIST.fullmatch(path):
            spec = next((s for s in CHANNEL_SPECS if s.folder == m["folder"]), None)
            family = "legacy"
        elif m := _WEB_LIST.fullmatch(path):
            spec = next((s for s in CHANNEL_SPECS if self.model.nodes[s.name] == m["node"]), None)
            family = "web"
        else:
            return None
        page = render.list_page(self.model, spec.name, family, int(m["page"] or 1), n) if spec else None
        return _html(200, page) if page else _html(404, render.not_found_page())


_PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the body of every
    # keep-alive response would wait for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        replica = self.server.replica
        target = urlsplit(self.path)
        if target.scheme and target.netloc.lower() != replica.netloc:
            # Used as a proxy for another host (tests set http_proxy to catch any
            # request that would leave 127.0.0.1): record where it wanted to go, refuse.
            reply = Reply(502, b"the replica is not a proxy", "text/plain")
        elif target.path.startswith("/_replica/"):
            reply = replica.control(target.path)
        else:
            reply = replica.router.route(target.path)
        if not target.path.startswith("/_replica/"):
            replica.log(LoggedRequest(self.command, self.path, self.headers.get("Host", ""), reply.status, time.time()))
        if reply.stall:
            time.sleep(reply.stall)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if reply.transport in ("reset", "short"):
            self.wfile.write(reply.body[: len(reply.body) // 2])
            if reply.transport == "reset":  # an RST, not a clean close
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    def do_CONNECT(self) -> None:
        self.server.replica.log(LoggedRequest("CONNECT", self.path, self.headers.get("Host", ""), 502, time.time()))
        self.send_error(HTTPStatus.BAD_GATEWAY, "the replica is not a proxy")

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log replaces the access log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog of 5 drops connections a crawler opens in a burst: they would wait
    # a SYN retransmit (1 s), longer than the short download timeouts the fault tests use.
    request_queue_size = 128
    replica: ReplicaServer

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the crawler gave up on a stalled or oversized reply: expected under faults
        super().handle_error(request, client_address)


class ReplicaServer:
    """Serve a replica on ``host:port`` (port 0: any free port) from a background thread.

    Control endpoints under ``/_replica/`` (never linked, never logged):
    ``info`` (config and the channels' node ids) and ``requests`` (the request log).
    """

    def __init__(
        self, config: ReplicaConfig | None = None, host: str = "127.0.0.1", port: int = 0, *, cache: bool = False
    ) -> None:
        self.config = config or ReplicaConfig()
        self.cache = cache
        self.router = Router(SiteModel(self.config), cache)
        self._requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.replica = self
        self._thread: threading.Thread | None = None

    @property
    def netloc(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    @property
    def model(self) -> SiteModel:
        return self.router.model

    def start(self) -> ReplicaServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replica", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_epoch(self, epoch: int) -> None:
        """Move the site forward (or back) in time, keeping the server up."""
        self.config = replace(self.config, epoch=epoch)
        self.router = Router(SiteModel(self.config), self.cache)

    def log(self, request: LoggedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._requests)

    def control(self, path: str) -> Reply:
        if path == "/_replica/requests":
            data = [asdict(r) for r in self.requests]
        elif path == "/_replica/info":
            data = {"config": {k: str(v) for k, v in asdict(self.config).items()}, "nodes": self.model.nodes}
        else:
            return Reply(404, b"unknown control endpoint", "text/plain")
        return Reply(200, json.dumps(data, ensure_ascii=False).encode(), "application/json")
