"""What the replica's server puts on the wire for one request: :class:`Reply`.

A plain value, so the router and the faults stay pure and testable without a
socket; :mod:`.server` turns it into bytes, including the ways a reply can
misbehave below HTTP (a reset, a short body, a stall, a flood of headers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"  # "" sends no Content-Type
    headers: tuple[tuple[str, str], ...] = ()
    # What the connection does beyond HTTP: "reset" mid-body, "short" (fewer bytes than
    # Content-Length), or a stall of this many seconds before answering.
    transport: str | None = None
    stall: float = 0.0
    # Bytes of padding headers streamed before the real ones (the huge-headers fault),
    # written one header at a time so the replica never holds them.
    pad_headers: int = 0

    def header(self, name: str) -> str | None:
        """The value of one extra header (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def html_reply(status: int, text: str, charset: str = "utf-8") -> Reply:
    """An HTML page, encoded as its header says."""
    return Reply(status, text.encode(charset, errors="xmlcharrefreplace"), f"text/html; charset={charset.upper()}")


def redirect(status: int, location: str) -> Reply:
    return Reply(status, b"", "text/html", (("Location", location),))
