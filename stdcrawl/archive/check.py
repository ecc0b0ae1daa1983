"""Verifying a WARC file of the archive, for ``lake verify``: every record whole, every digest right.

:func:`check` returns the problems of one file (a path, bytes or a stream), one
line each, ``<file>@<offset>: <what>``; no problems, an empty list. It checks
that the file is a run of gzip members each holding exactly one WARC/1.1
record whose Content-Length matches it (so every offset is a place to start
reading), that the first record is a ``warcinfo``, that record ids are
well-formed and unique, that block and payload digests match, that every
response names its request with ``WARC-Concurrent-To``, and that revisits are
well-formed and, when their originals are in the file or among ``originals``
(or reachable through ``open_key``), refer to a response of the same payload
digest, target URI and date. A revisit whose original is elsewhere and not
given is not a problem: it cannot be checked here.

Failure modes: none raised for a damaged file (its damage is the answer); a
file that cannot be opened at all raises
:class:`~stdcrawl.archive.records.ArchiveError`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastwarc.warc import ArchiveIterator

from stdcrawl.archive.members import Damage, Member, members
from stdcrawl.archive.reader import NamedSource, OpenKey, _Originals, _Src
from stdcrawl.archive.records import REFERS_TO_CONTAINER, REVISIT_PROFILE, ArchiveError, sha1_digest

_RECORD_ID = re.compile(r"<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}>")
_TARGETED = ("request", "response", "revisit")
# WARC 1.1's W3C-ISO8601 date, UTC, to the second or finer.
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z")


@dataclass(slots=True)
class Record:
    """One record as the checker sees it."""

    offset: int
    kind: str
    headers: dict[str, str]  # WARC headers, the first of each name
    concurrent: tuple[str, ...]
    block: bytes
    payload: bytes | None  # the HTTP payload, for an HTTP record
    status: int | None


def parse_member(member: Member) -> tuple[Record | None, list[str]]:
    """The one record a member holds, or None, and what is wrong with it."""
    plain = member.plain
    if not plain.startswith(b"WARC/1.1\r\n"):
        return None, [f"not a WARC/1.1 record: starts {plain[:16]!r}"]
    found: list[Record] = []
    try:
        for rec in ArchiveIterator(io.BytesIO(plain), parse_http=True, stream_detect=False):
            http = rec.http_headers if rec.is_http else None
            headers: dict[str, str] = {}
            for name, value in rec.headers.to_tuples():
                headers.setdefault(name.lower(), value)
            found.append(Record(member.offset, str(headers.get("warc-type", "")),
                                headers, rec.headers.get_multiple("WARC-Concurrent-To"), b"",
                                rec.reader.read() if http is not None else None,
                                http.status_code if http is not None else None))
    except (OSError, ValueError) as exc:
        if not found:
            return None, [f"unreadable WARC record ({exc})"]
        return found[0], [f"bytes after the record that are not a WARC record ({exc})"]
    if not found:
        return None, ["no WARC record in the gzip member"]
    if len(found) > 1:
        return found[0], [f"gzip member holds {len(found)} records: each record must be its own member"]
    record = found[0]
    start = plain.find(b"\r\n\r\n") + 4
    length = record.headers.get("content-length", "")
    if not length.isdigit() or start + int(length) + 4 != len(plain) or not plain.endswith(b"\r\n\r\n"):
        return None, [f"Content-Length {length or 'missing'} does not match the {len(plain) - start} bytes after the header"]
    record.block = plain[start : start + int(length)]
    return record, []


def _problems(record: Record) -> list[str]:
    """What is wrong with a record on its own."""
    out: list[str] = []
    h = record.headers
    if not _RECORD_ID.fullmatch(h.get("warc-record-id", "")):
        out.append(f"WARC-Record-ID {h.get('warc-record-id')!r} is not <urn:uuid:...>")
    if not _DATE.fullmatch(h.get("warc-date", "")):
        out.append(f"WARC-Date {h.get('warc-date')!r} is not a UTC timestamp")
    block_digest = h.get("warc-block-digest")
    if block_digest is None:
        out.append("no WARC-Block-Digest")
    elif block_digest != sha1_digest(record.block):
        out.append(f"block digest {block_digest} does not match the block's {sha1_digest(record.block)}")
    if record.kind in _TARGETED:
        if not re.match(r"https?://", h.get("warc-target-uri", "")):
            out.append(f"{record.kind} WARC-Target-URI {h.get('warc-target-uri')!r} is not an http(s) URL")
        if record.payload is None:
            out.append(f"{record.kind} record does not hold an HTTP message")
    if record.kind in ("response", "revisit") and record.status is None and record.payload is not None:
        out.append(f"{record.kind} record has no HTTP status line")
    if record.kind == "response" and record.payload is not None:
        payload_digest = h.get("warc-payload-digest")
        if payload_digest is None:
            out.append("response has no WARC-Payload-Digest")
        elif payload_digest != sha1_digest(record.payload):
            out.append(f"payload digest {payload_digest} does not match the payload's {sha1_digest(record.payload)}")
    if record.kind == "revisit":
        if h.get("warc-profile") != REVISIT_PROFILE:
            out.append(f"revisit profile {h.get('warc-profile')!r} is not identical-payload-digest")
        for name in ("WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Payload-Digest"):
            if name.lower() not in h:
                out.append(f"revisit has no {name}")
        if record.payload:
            out.append(f"revisit holds a {len(record.payload)}-byte payload: it must hold headers only")
    return out


def check(
    source: NamedSource,
    *,
    originals: Iterable[NamedSource] | None = None,
    open_key: OpenKey | None = None,
) -> list[str]:
    """The problems of one WARC file, one line each; see the module docstring."""
    src = _Src.of(source)
    problems: list[str] = []
    kinds: dict[str, str] = {}  # record id -> type, this file
    responses: dict[str, Record] = {}
    linked: list[Record] = []
    revisits: list[Record] = []
    count = 0
    with src.open() as stream:
        for member in members(stream):
            if isinstance(member, Damage):
                problems.append(f"{src.name}@{member.offset}: {member.reason}")
                break
            record, found = parse_member(member)
            problems += [f"{src.name}@{member.offset}: {p}" for p in found]
            if record is None:
                continue
            count += 1
            if count == 1 and record.kind != "warcinfo":
                problems.append(f"{src.name}@{member.offset}: the first record is a {record.kind}, not a warcinfo")
            if not found:
                problems += [f"{src.name}@{member.offset}: {p}" for p in _problems(record)]
            record_id = record.headers.get("warc-record-id", "")
            if record_id in kinds:
                problems.append(f"{src.name}@{member.offset}: WARC-Record-ID {record_id} is used twice")
            kinds[record_id] = record.kind
            if record.kind == "response":
                responses[record_id] = record
            if record.kind in ("response", "revisit"):
                linked.append(record)
            if record.kind == "revisit":
                revisits.append(record)
    if count == 0 and not problems:
        problems.append(f"{src.name}: no WARC records")
    for record in linked:
        if not any(kinds.get(other) == "request" for other in record.concurrent):
            problems.append(f"{src.name}@{record.offset}: {record.kind} has no WARC-Concurrent-To naming a request "
                            "record of this file")
    index = _Originals(originals or (), open_key) if (originals is not None or open_key is not None) else None
    try:
        for record in revisits:
            problems += [f"{src.name}@{record.offset}: {p}" for p in _revisit_problems(record, responses, index)]
    finally:
        if index is not None:
            index.close()
    return problems


def _revisit_problems(record: Record, responses: dict[str, Record], index: _Originals | None) -> list[str]:
    h = record.headers
    refers_to = h.get("warc-refers-to", "")
    if refers_to in responses:
        original = responses[refers_to].headers
        got = (original.get("warc-payload-digest"), original.get("warc-target-uri"), original.get("warc-date"))
    elif index is not None:
        try:
            found = index.find(refers_to, h.get(REFERS_TO_CONTAINER.lower()))
            if found is None:
                return [f"revisit's original {refers_to} is not in the files given"]
            read = index.read(*found)
        except ArchiveError as exc:
            return [f"revisit's original {refers_to} cannot be read: {exc}"]
        if sha1_digest(read.body) != read.payload_digest:
            return [f"revisit's original {refers_to} has a payload that does not match its digest"]
        got = (read.payload_digest, read.url, read.date)
    else:
        return []  # elsewhere, and not given: nothing to hold it against
    wanted = (h.get("warc-payload-digest"), h.get("warc-refers-to-target-uri"), h.get("warc-refers-to-date"))
    names = ("payload digest", "target URI", "date")
    return [f"revisit's {name} {want!r} differs from its original's {have!r}"
            for name, want, have in zip(names, wanted, got) if want != have]
