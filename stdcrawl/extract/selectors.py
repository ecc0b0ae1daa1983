"""Markup selectors: the fast path of article extraction, one set per template family.

**What they were written from.** The live site's HTML is unknown (docs/site.md):
only its visible text and URLs were ever seen. Both sets below were written
from the replica's templates (``stdcrawl/replica/render.py``: the legacy
``.shtml`` and the ``/web/`` ``article_page``), which are themselves a guess at
the live markup. On the live site they are expected to miss, and a miss costs
nothing: the text-anchored reader reads the page from its visible lines, and
the record says so in ``parser`` (``.../text``). What tells a template change
from a selector miss is the record's ``template`` signature
(:mod:`.template`), the same whichever path read the page; run monitors should
compare it with the site's own history, never with these selectors.

A set only narrows the page to the article's parts; the same reader then reads
the lines of those parts, each part's subtree once, and nothing else of the
page: the navigation, the sidebar and the footer are never walked. That is
what makes the fast path faster than the text path, which must read every
line of the page to find its anchors (measured in bench/extraction.py; the
two give the same records, tests/test_replica.py checks it on every page of
the replica). When the parts are found but do not hold up (no meta line, no
title, no body), the text path reads the whole page after all.

Selectors are a small CSS subset, matched in plain Python against an index
of the page built in one pass (:class:`PageIndex`): compounds of a tag with
``.class`` and ``#id``, joined by ``>``, every part ending in a tag (the tag
the replica renders: ``div.detail-info``, ``p.detail-editor``). Anything else
is a ``ValueError`` when the set is defined. tests/test_extract_rules.py
checks the matching against cssselect's CSS semantics on every replica page.

New layouts get a new versioned set beside the old one, whose fixtures stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

# The CSS these sets may use: compounds of a tag and any .class and #id, joined by ">".
_COMPOUND = re.compile(r"(?P<tag>[a-z][a-z0-9]*)(?P<rest>(?:[.#][A-Za-z_][\w-]*)*)")
_NAME = re.compile(r"([.#])([A-Za-z_][\w-]*)")
# The tags the parts of every set end in: what PageIndex files, in one pass over the page.
_PART_TAGS: set[str] = set()


@dataclass(frozen=True, slots=True)
class _Compound:
    tag: str
    classes: frozenset[str]
    id: str | None

    @classmethod
    def parse(cls, text: str) -> _Compound:
        m = _COMPOUND.fullmatch(text)
        if not m:
            raise ValueError(f"unsupported selector {text!r}: a tag with .class and #id, joined by '>'")
        names = _NAME.findall(m["rest"])
        ids = [name for kind, name in names if kind == "#"]
        return cls(m["tag"], frozenset(name for kind, name in names if kind == "."), ids[0] if ids else None)

    def matches(self, el: etree._Element) -> bool:
        # As CSS means it: the tag, the id, and each class among the class attribute's names.
        return (
            el.tag == self.tag
            and (self.id is None or el.get("id") == self.id)
            and (not self.classes or self.classes <= set((el.get("class") or "").split()))
        )


def _compile(css: str) -> tuple[_Compound, ...]:
    """``"div.a > h1"`` as its compounds, innermost first."""
    return tuple(_Compound.parse(part.strip()) for part in reversed(css.split(">")))


def _matches(chain: tuple[_Compound, ...], el: etree._Element) -> bool:
    node: etree._Element | None = el
    for compound in chain:
        if node is None or not compound.matches(node):
            return False
        node = node.getparent()
    return True


class PageIndex:
    """A page's elements by class name and by id, among the tags selector parts end in.

    Built in one pass over the page and shared by every selector set tried on
    it: an lxml XPath evaluation of a class selector costs some 7 microseconds
    however small the page, five parts of two sets far more than the pass.
    """

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.by_class: dict[str, list[etree._Element]] = {}
        self.by_id: dict[str, list[etree._Element]] = {}
        for el in root.iter(*sorted(_PART_TAGS)):
            names = el.get("class")
            if names:
                for name in set(names.split()):
                    self.by_class.setdefault(name, []).append(el)
            ident = el.get("id")
            if ident:
                self.by_id.setdefault(ident, []).append(el)

    def candidates(self, compound: _Compound) -> list[etree._Element]:
        """Elements that may match ``compound``, in document order (a superset, to be checked)."""
        if compound.id is not None:
            return self.by_id.get(compound.id, [])
        if compound.classes:
            return self.by_class.get(min(compound.classes), [])
        return list(self.root.iter(compound.tag))


@dataclass(frozen=True, slots=True)
class Selectors:
    version: str
    written_from: str  # where the selectors come from: never the live site, whose markup is unknown
    example: str  # a URL of the template's kind (a replica page; the same path on the live site)
    breadcrumb: str
    title: str
    meta: str
    content: str  # the container of lead image, caption, byline and body
    editor: str | None = None  # the Editor line, when it sits outside the content
    _compiled: dict[str, tuple[_Compound, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Parsed once, at import; an unsupported selector is a ValueError here, not a silent miss.
        for part in ("breadcrumb", "title", "meta", "content", "editor"):
            css = getattr(self, part)
            if css:
                chain = _compile(css)
                self._compiled[part] = chain
                _PART_TAGS.add(chain[0].tag)

    def find(self, index: PageIndex, part: str) -> list[etree._Element]:
        """The elements of the indexed page that ``part`` ("breadcrumb", "title", ...) selects, in document order."""
        chain = self._compiled.get(part)
        if chain is None:
            return []
        return [el for el in index.candidates(chain[0]) if _matches(chain, el)]


LEGACY_V1 = Selectors(
    version="legacy-v1",
    written_from="the replica's legacy .shtml template (render.article_page, G1 2021 and G1b 2022 - mid 2024)",
    example="https://www.stdaily.com/English/WorldNews/2021-11/11/content_1225013.shtml",
    breadcrumb="div.position",
    title="div.article > h1",
    meta="div.article > div.info",
    content="div.article > div#Zoom",
    editor="div.article > div.editor",
)

WEB_V1 = Selectors(
    version="web-v1",
    written_from="the replica's /web/ template (render.article_page, G2 mid 2022 - mid 2024, G3 late 2024 on)",
    example="https://www.stdaily.com/web/English/2024-05/08/content_123456.html",
    breadcrumb="div.crumbs",
    title="div.detail > h2.detail-title",
    meta="div.detail > div.detail-info",
    content="div.detail > div.detail-content",
    editor="div.detail > p.detail-editor",
)

BY_FAMILY: dict[str, tuple[Selectors, ...]] = {
    "legacy": (LEGACY_V1, WEB_V1),
    "web": (WEB_V1, LEGACY_V1),
}
