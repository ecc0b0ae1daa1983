"""The replica's HTTP server: a deterministic stdaily on 127.0.0.1.

:class:`Router` maps a path to a :class:`~.reply.Reply` and holds the only
per-process state (the request counter that reshuffles the sidebars, and the
hit counts behind the flaky article and the transient faults). It serves
homepages, lists (with the list faults), pictures, the moved story's 301,
articles (with the article and twin faults) and robots.txt (with its faults).
:class:`ReplicaServer` serves it from a background thread, records every
request it receives, and refuses proxy requests for other hosts, so a test can
prove nothing left for elsewhere. A client that hangs up mid-reply (under a
stall, a flood of headers, an oversized body) is expected, not an error.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from stdcrawl.replica import faults, render
from stdcrawl.replica.faults import CATALOGUE
from stdcrawl.replica.model import CHANNEL_SPECS, HOMES, NESTED_DIVS_PATH, ReplicaConfig, SiteModel, Story
from stdcrawl.replica.reply import Reply, html_reply, redirect
from stdcrawl.urls import CANONICAL_BASE

_LEGACY_LIST = re.compile(r"/English/(?P<folder>[A-Za-z]+)/common_list(?:_(?P<page>\d+))?\.shtml")
_WEB_LIST = re.compile(r"/web/English/node_(?P<node>\d+)(?:_(?P<page>\d+))?\.html")


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    target: str  # as sent: a path, or a whole URL when someone used us as a proxy
    host: str  # Host header
    status: int
    at: float


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

    def _hit(self, path: str) -> int:
        """Count one more request of a path whose answer changes with its hits (faults, the flaky page)."""
        with self._lock:
            hits = self._flaky_hits[path] = self._flaky_hits.get(path, 0) + 1
            return hits

    def route(self, path: str) -> Reply:
        if self._cache is None:
            return self._route(path)
        if (cached := self._cache.get(path)) is None:
            cached = self._route(path)
            if cached.status == 200 and path not in self.model.fault_paths:  # a transient fault must heal
                self._cache[path] = cached
        return cached

    def _route(self, path: str) -> Reply:
        model = self.model
        n = self._next_request_no()
        if path == "/robots.txt":
            fault = model.fault_paths.get(path)
            return faults.robots_reply(fault, render.robots_txt(model))
        if path in ("/English/index.shtml", "/English/", "/English/index.html"):
            return html_reply(200, render.home_page(model, "legacy", n))
        if path in ("/web/English/index.html", "/web/English/"):
            return html_reply(200, render.home_page(model, "web", n))
        if path in model.pictures:
            return Reply(200, picture(path), "image/jpeg")
        if path.startswith(("/English/images/", "/web/English/images/")):
            return Reply(200, _PIXEL, "image/gif")
        if reply := self._list(path, n):
            return reply
        if path == NESTED_DIVS_PATH and "nested-divs" in model.config.faults:
            return html_reply(200, render.nested_divs_page())
        if moved := model.moved.get(path):
            # Moved for good, to an absolute URL on the live host (another host than ours).
            return redirect(301, CANONICAL_BASE + moved.paths[moved.primary])
        if found := model.by_path.get(path):
            return self._article(path, *found, n)
        if entry := model.hostile_by_path.get(path):
            if entry.kind == "broken":
                return html_reply(500, "<html><body>Internal Server Error</body></html>")
            if entry.kind in ("special", "topic"):
                return html_reply(200, render.special_page(model, entry, n))
        return html_reply(404, render.not_found_page())

    def _article(self, path: str, story: Story, generation: str, n: int) -> Reply:
        model = self.model
        if not story.alive(model.epoch):
            return html_reply(404, render.not_found_page())
        if fault := model.faulty.get(path):
            if CATALOGUE[fault].target == "twin":
                return faults.twin_reply(fault, story.paths["G2"])
            reply = faults.article_reply(
                fault, self._hit(path), path,
                lambda **extras: render.article_page(model, story, generation, n, **extras),
                target=model.fault_targets.get(path), stall_seconds=model.config.stall_seconds,
                header_mb=model.config.header_mb,
            )
            if reply is not None:
                return reply
        if story.flaky and self._hit(path) <= 2:
            reply = html_reply(503, "<html><body>Service Temporarily Unavailable</body></html>")
            if model.config.retry_after:
                return replace(reply, headers=(("Retry-After", str(model.config.retry_after)),))
            return reply
        charset = "gbk" if story.encoding == "gbk" else "utf-8"
        return html_reply(200, render.article_page(model, story, generation, n), charset)

    def _list(self, path: str, n: int) -> Reply | None:
        model = self.model
        if m := _LEGACY_LIST.fullmatch(path):
            spec = next((s for s in CHANNEL_SPECS if s.folder == m["folder"]), None)
            family = "legacy"
        elif m := _WEB_LIST.fullmatch(path):
            spec = next((s for s in CHANNEL_SPECS if model.nodes[s.name] == m["node"]), None)
            family = "web"
        else:
            return None
        if spec is None:
            return html_reply(404, render.not_found_page())
        page_no = int(m["page"] or 1)
        if fault := model.list_fault(family, spec.name, page_no):
            shown = len(model.pages(spec.name, family)) if fault == "list-repeat-last" else page_no
            reply = faults.list_reply(
                fault, self._hit(path),
                lambda entries: render.list_page(model, spec.name, family, shown, n, entries=entries) or "",
                HOMES[family], render.not_found_page(),
            )
            if reply is not None:
                return reply
        page = render.list_page(model, spec.name, family, page_no, n)
        return html_reply(200, page) if page else html_reply(404, render.not_found_page())


_PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def picture(path: str) -> bytes:
    """A small valid JPEG (8x8, mid grey, baseline) carrying its path in a comment, so each picture differs."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one Huffman code of length 1, for symbol 0
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xFE, path.encode())
        + _segment(0xDB, b"\x00" + b"\x01" * 64)  # quantisation table 0: all ones
        + _segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")  # 8 bits, 8x8, one component
        + _segment(0xC4, b"\x00" + one_code)  # DC table 0
        + _segment(0xC4, b"\x10" + one_code)  # AC table 0: the symbol is end-of-block
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # DC difference 0 ("0"), end of block ("0"), padded with ones
        + b"\xff\xd9"
    )


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
        if reply.pad_headers and not self._pad_headers(reply.pad_headers):
            return
        if reply.content_type:
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

    def _pad_headers(self, size: int) -> bool:
        """Stream ``size`` bytes of padding headers, one at a time; False when the client hung up."""
        self.flush_headers()  # the status line goes out first, as a real server's would
        value = b"x" * 8000
        sent = n = 0
        try:
            while sent < size:
                line = b"X-Padding-%06d: %s\r\n" % (n, value)
                self.wfile.write(line)
                sent += len(line)
                n += 1
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return False  # the crawler cut the connection, as it should
        return True

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

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the crawler gave up on a stalled or oversized reply: expected under faults
        super().handle_error(request, client_address)


class ReplicaServer:
    """Serve a replica on ``host:port`` (port 0: any free port) from a background thread.

    Control endpoints under ``/_replica/`` (never linked, never logged): ``info`` (config,
    the channels' node ids, and every path a fault hits) and ``requests`` (the request log).
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
        return f"{host.decode() if isinstance(host, bytes) else host}:{port}"

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
        data: Any
        if path == "/_replica/requests":
            data = [asdict(r) for r in self.requests]
        elif path == "/_replica/info":
            data = {"config": {k: str(v) for k, v in asdict(self.config).items()}, "nodes": self.model.nodes,
                    "faults": self.model.fault_paths}
        else:
            return Reply(404, b"unknown control endpoint", "text/plain")
        return Reply(200, json.dumps(data, ensure_ascii=False).encode(), "application/json")
