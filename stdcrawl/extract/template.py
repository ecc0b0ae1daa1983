"""Template signature: a short, stable name for the markup around the parts the reader found.

Pure, no Scrapy. A record's ``template`` field is ``"t1:"`` and 16 hex digits,
a BLAKE2b hash of three element paths from ``<body>`` down to:

- the element holding the **title** line,
- the element holding the **meta line** (the lowest common ancestor of its
  lines, when the meta line is split over several),
- the element holding the **body**: the lowest common ancestor of the
  elements that hold the body paragraphs (so one paragraph or forty, lists
  or not, give the same answer).

Each step of a path is the element's tag and its class names, sorted.
Dropped, because they vary per page or per request and say nothing about the
template: ids (spam mirrors inject decoys with random ids), class names that
look random (letters and digits run together, four or more: ``6kecc``,
``x1a2b3``), positions among siblings (optional pictures, share bars). The
"Top News" sidebar, which changes on every request, is never on a path.

So the signature is the same for every story of one template, on every
request, whichever path (selectors or text) read the page: both give the same
lines, and the signature is computed from the lines. A redesign, or every
class renamed, gives another signature while the record may lose nothing:
that is a template change, which the run's monitors can see against the
site's own history of signatures. ``t1`` is the version of this recipe: a
change to it must change the prefix, or every run would see a redesign.

``None`` only when none of the parts was read from an element of the page,
which the readers do not produce (a line always has its block element, at
worst ``<body>``). Tested in tests/test_template.py on the replica's
templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from hashlib import blake2b

from lxml import etree

from stdcrawl.extract.blocks import Block

VERSION = "t1"
_RANDOM_CLASS = re.compile(r"(?=[a-z]*\d)(?=\d*[a-z])[a-z\d]{4,}", re.I)
_MAX_CLASSES = 8  # a step is a label, not the whole class attribute of a hostile page
# Labels by (tag, class attribute): templates repeat the same few on every page.
_STEPS: dict[tuple[str, str], str] = {}
_MAX_STEPS = 4096
_MAX_DEPTH = 100  # elements on a path: templates nest a dozen deep, hostile pages thousands
_MAX_HOLDERS = 64  # distinct paragraph holders looked at


def _step(el: etree._Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else "?"
    attr = el.get("class") or ""
    key = (tag, attr)
    label = _STEPS.get(key)
    if label is None:
        classes = sorted({c for c in attr.split() if not _RANDOM_CLASS.fullmatch(c)})
        label = ".".join([tag, *classes[:_MAX_CLASSES]])
        if len(attr) <= 200:  # a hostile page's megabyte of class names is not kept
            if len(_STEPS) >= _MAX_STEPS:
                _STEPS.clear()  # a bound, not an eviction policy: labels are cheap to compute again
            _STEPS[key] = label
    return label


def _chain(el: etree._Element) -> list[etree._Element]:
    """``el`` and its ancestors below ``<body>``, ``<body>`` included, outermost first.

    At most ``_MAX_DEPTH`` of them: a path deeper than any template's is a
    hostile page's, and following it to the top for every part would cost
    its depth each time.
    """
    chain: list[etree._Element] = []
    node: etree._Element | None = el
    while node is not None and len(chain) < _MAX_DEPTH:
        chain.append(node)
        if node.tag == "body":
            break
        node = node.getparent()
    chain.reverse()
    return chain


def holder(elements: Iterable[etree._Element | None]) -> list[etree._Element]:
    """The path from ``<body>`` to the lowest common ancestor of ``elements`` ([] for none).

    Of the first ``_MAX_HOLDERS`` distinct elements: enough to know a template,
    and a bound on the work for a page of two hundred thousand paragraphs.
    """
    distinct: dict[int, etree._Element] = {}
    for el in elements:
        if el is not None and id(el) not in distinct:
            distinct[id(el)] = el
            if len(distinct) == _MAX_HOLDERS:
                break
    if not distinct:
        return []
    first, *others = distinct.values()
    common = _chain(first)
    for el in others:
        chain = _chain(el)
        n = 0
        while n < len(common) and n < len(chain) and common[n] is chain[n]:
            n += 1
        common = common[:n]
    return common


def _path(elements: list[etree._Element]) -> str:
    return "/".join(_step(el) for el in elements)


def describe(title: list[Block], meta: list[Block], paragraphs: list[Block]) -> dict[str, str]:
    """The three paths the signature hashes, readable: what a report can show beside a new signature."""
    parents = (b.container.getparent() if b.container is not None else None for b in paragraphs)
    return {
        "title": _path(holder(b.container for b in title)),
        "meta": _path(holder(b.container for b in meta)),
        "body": _path(holder(parents)),
    }


def signature(title: list[Block], meta: list[Block], paragraphs: list[Block]) -> str | None:
    """The signature of the template around these parts (see the module doc), or None."""
    paths = describe(title, meta, paragraphs)
    if not any(paths.values()):
        return None
    text = "\n".join(f"{name}={path}" for name, path in paths.items())
    return f"{VERSION}:{blake2b(text.encode(), digest_size=8).hexdigest()}"
