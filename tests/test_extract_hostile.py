"""Extraction stays linear on hostile pages: each shape at the size cap reads in under two seconds of CPU.

Each page is built just under ``MAX_PAGE_CHARS`` (so it is read, not refused)
around a real article whose parts the test knows, and the test checks both the
time and the record: the real body is read and the junk is not in it. The
shapes are the ones that were quadratic: a two-million-character token with
``?`` in it, two hundred thousand tiny paragraphs, ten thousand link lines
before an Editor line, and a list page of ten thousand entries.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import pytest

from stdcrawl.extract import NotAnArticle, extract_article, extract_listing
from stdcrawl.extract.page import MAX_DEPTH, MAX_PAGE_CHARS
from stdcrawl.text import clean_text, count_words, repair_mirror_damage

URL = "https://www.stdaily.com/web/English/2024-05/08/content_123456.html"
LIST_URL = "https://www.stdaily.com/English/WorldNews/common_list.shtml"
TITLE = "Labs Join Forces on Quantum Sensing"
BODY = [
    "Researchers from China and Germany opened a joint laboratory for quantum sensing in Hefei on Monday.",
    "The two sides agreed to share data from the joint observatory with researchers around the world next year.",
    "The laboratory will train fifty doctoral students a year, half of them from partner universities abroad.",
]
# The slowest shape takes 0.65-0.85 s on the bench VM and up to 1.1 s when the VM runs a third slow (seen in CI);
# a reader quadratic in 200,000 paragraphs or a 2-million-character token would be far past any such bound.
LIMIT_S = 2.0


def head() -> str:
    return (
        f"<html><head><title>{TITLE}</title></head><body>"
        f"<div>position: EnglishChannel > Cooperation> {TITLE}</div><h2>{TITLE}</h2>"
        "<div>Source: Science and Technology Daily | 2024-05-08 14:33:37 | Author: QI Liming</div>"
    )


def fill(before: str, unit: Callable[[int], str], after: str) -> tuple[str, int]:
    """``before``, then as many ``unit(i)`` as fit, then ``after``: a page just under the size cap."""
    room = MAX_PAGE_CHARS - len(before) - len(after) - 64
    pieces: list[str] = []
    used = 0
    while True:
        piece = unit(len(pieces))
        if used + len(piece) > room:
            break
        pieces.append(piece)
        used += len(piece)
    page = before + "".join(pieces) + after
    assert MAX_PAGE_CHARS * 0.99 < len(page) <= MAX_PAGE_CHARS  # the shape is as large as a page may be
    return page, len(pieces)


def timed(read: Callable[[], Any]) -> tuple[Any, float]:
    """The result and the CPU seconds this thread spent on it: the work done, whatever else the machine (or another
    thread of the test process, such as a server a test left running) does meanwhile."""
    gc.freeze()  # what earlier tests left on the heap is not this page's cost to collect
    try:
        started = time.thread_time()
        result = read()
        return result, time.thread_time() - started
    finally:
        gc.unfreeze()


def body_paragraphs(record: Any) -> list[str]:
    return [p for section in record.body for p in section["paragraphs"]]


def test_a_paragraph_holding_one_token_of_two_million_characters() -> None:
    word = ("abcdefghij" * 6)[:59]
    # One token: 59 letters, then "?" and 59 letters again and again, ending on a letter.
    page, units = fill(head() + "<p>" + BODY[0] + "</p><p>" + word, lambda i: "?" + word, "</p></body></html>")
    record, elapsed = timed(lambda: extract_article(page, URL))
    assert elapsed < LIMIT_S, elapsed
    paragraphs = body_paragraphs(record)
    assert paragraphs[0] == BODY[0]
    # A "?" glued between letters is mirror damage (a non-breaking space): the token reads as words.
    assert paragraphs[1].split() == [word] * (units + 1)
    assert (record.title, record.published_at, record.authors) == (TITLE, "2024-05-08T14:33:37+08:00", ["QI Liming"])


@pytest.mark.parametrize("url_like", [False, True], ids=["damaged", "url"])
def test_repairing_a_token_of_two_million_characters_is_linear(url_like: bool) -> None:
    prefix = "https://www.stdaily.com/a.html?" if url_like else ""
    token = prefix + ("x" * 59 + "?") * (MAX_PAGE_CHARS // 60) + "x"
    repaired, elapsed = timed(lambda: repair_mirror_damage(token))
    assert elapsed < LIMIT_S, elapsed
    # A URL keeps every "?" of its token; anywhere else a "?" glued between letters was a space.
    assert repaired == (token if url_like else token.replace("?", " "))
    cleaned, elapsed = timed(lambda: clean_text(token))
    assert elapsed < LIMIT_S, elapsed
    words, elapsed = timed(lambda: count_words("—" * MAX_PAGE_CHARS + " word"))
    assert elapsed < LIMIT_S and words == 1, elapsed


def test_two_hundred_thousand_tiny_paragraphs_after_the_body_are_not_body() -> None:
    start = head() + "".join(f"<p>{p}</p>" for p in BODY)
    page, units = fill(start, lambda i: "<p>·</p>" if i % 2 else "<p>*</p>", "<p>Editor: 宗诗涵</p><div>Top News</div></body></html>")
    assert units > 200_000
    record, elapsed = timed(lambda: extract_article(page, URL))
    assert elapsed < LIMIT_S, elapsed
    assert body_paragraphs(record) == BODY  # lines with no letter or digit are decoration, not text
    assert record.editor == "宗诗涵"


def test_two_hundred_thousand_tiny_paragraphs_after_the_footer() -> None:
    start = head() + "".join(f"<p>{p}</p>" for p in BODY) + "<div>Copyright © Science and Technology Daily</div>"
    page, units = fill(start, lambda i: f"<p>{'xyz'[i % 3]}</p>", "</body></html>")
    assert units > 200_000
    record, elapsed = timed(lambda: extract_article(page, URL))
    assert elapsed < LIMIT_S, elapsed
    assert body_paragraphs(record) == BODY


def test_ten_thousand_link_lines_before_the_editor_line() -> None:
    start = head() + "".join(f"<p>{p}</p>" for p in BODY)

    def link_line(i: int) -> str:
        return f'<p><a href="/web/English/2024-05/01/content_{100000 + i}.html">Another story of the week, number {i}, ' + "with a long title " * 5 + "</a></p>"

    page, units = fill(start, link_line, "<p>Editor: 宗诗涵</p><div>Top News</div></body></html>")
    assert units >= 10_000
    record, elapsed = timed(lambda: extract_article(page, URL))
    assert elapsed < LIMIT_S, elapsed
    assert body_paragraphs(record) == BODY
    assert record.editor == "宗诗涵"
    assert "Another story" not in record.text


def test_a_paragraph_at_every_level_of_deep_nesting() -> None:
    levels = MAX_DEPTH - 10  # as deep as the parser reads (html, body and the head's lines take a few)
    page = head() + "".join(f"<div><p>{BODY[i % 3]}</p>" for i in range(levels)) + "</div>" * levels + "</body></html>"
    record, elapsed = timed(lambda: extract_article(page, URL))
    assert elapsed < LIMIT_S, elapsed
    assert body_paragraphs(record) == [BODY[i % 3] for i in range(levels)]
    assert record.template is not None


def test_nesting_deeper_than_the_parser_reads_is_refused_not_cut_short() -> None:
    # Two megabytes nested sixteen thousand deep: the parser stops at MAX_DEPTH, and the
    # thousands of paragraphs below would be lost without a word.
    page, units = fill(head(), lambda i: f"<div><p>{BODY[i % 3]}</p>" + "\0" * 6, "")
    page = page.replace("\0", "") + "</div>" * units + "</body></html>"
    assert units > 5 * MAX_DEPTH
    started = time.thread_time()
    with pytest.raises(NotAnArticle) as info:
        extract_article(page, URL)
    assert time.thread_time() - started < LIMIT_S
    assert str(info.value) == f"page nested deeper than {MAX_DEPTH} elements: the parser cannot read it whole"
    assert extract_listing(page, LIST_URL).entries == []


def test_a_list_page_of_ten_thousand_entries() -> None:
    def entry(i: int) -> str:
        path = f"/English/WorldNews/2021-{1 + i % 12:02d}/{1 + i % 28:02d}/content_{1200000 + i}.shtml"
        return f'<li><h3><a href="{path}">Story number {i}</a></h3><p>Summary of story {i}: ' + "the partners agree. " * 3 + "</p></li>"

    start = "<html><body><div>position: EnglishChannel > Cooperation</div><ul>"
    page, units = fill(start, entry, "</ul><div>Top News</div></body></html>")
    assert units >= 10_000
    listing, elapsed = timed(lambda: extract_listing(page, LIST_URL))
    assert elapsed < LIMIT_S, elapsed
    assert listing.section_label == "Cooperation"
    assert [e.title for e in listing.entries] == [f"Story number {i}" for i in range(units)]
    assert listing.entries[-1].url.endswith(f"content_{1200000 + units - 1}.shtml")
    assert listing.entries[7].summary == "Summary of story 7: " + " ".join(["the partners agree."] * 3)


def test_a_page_over_the_cap_is_refused_at_once_with_one_line() -> None:
    page = head() + "<p>" + "x" * MAX_PAGE_CHARS + "</p></body></html>"
    started = time.perf_counter()
    with pytest.raises(NotAnArticle) as info:
        extract_article(page, URL)
    assert time.perf_counter() - started < 0.1
    assert str(info.value).startswith("page too large:") and "\n" not in str(info.value)
    assert extract_listing(page, LIST_URL).entries == []


def test_a_hundred_thousand_crumb_like_lines_before_the_meta_line() -> None:
    # Lines that look like the start of a breadcrumb, end in a separator and never parse as one.
    start = "<html><head><title>T</title></head><body>"
    after = (f"<div>{TITLE}</div><div>Source: Science and Technology Daily | 2024-05-08 14:33:37 | Author: QI Liming</div>"
             + "".join(f"<p>{p}</p>" for p in BODY) + "</body></html>")
    page, units = fill(start, lambda i: "<div>xEnglishChannel ></div>", after)
    assert units > 50_000
    record, elapsed = timed(lambda: extract_article(page, URL))
    assert elapsed < LIMIT_S, elapsed
    assert (record.title, body_paragraphs(record), record.section_label) == (TITLE, BODY, None)
