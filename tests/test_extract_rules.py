"""The text-anchored reader's rules, each on a small page in markup no selector knows."""

from __future__ import annotations

import pytest

from stdcrawl.extract import extract_article, extract_listing

URL = "https://www.stdaily.com/web/English/2024-05/08/content_123456.html"
LONG = "The two sides agreed to share data from the joint observatory with researchers around the world next year."


def page(*lines: str, head: str = "") -> str:
    body = "\n".join(lines)
    return f"<html><head>{head}</head><body><div class='x'>{body}</div></body></html>"


CRUMB_TITLE_META = (
    "<div>position: EnglishChannel > Cooperation> Labs Join Forces</div>",
    "<div>Labs Join Forces</div>",
    "<div>Source: Science and Technology Daily | 2024-05-08 14:33:37 | Author: QI Liming</div>",
)


def body_of(html: str) -> list[list[str]]:
    return [[s["heading"] or "", *s["paragraphs"]] for s in extract_article(html, URL).body]


def test_a_sidebar_without_its_heading_still_ends_the_body() -> None:
    html = page(
        *CRUMB_TITLE_META,
        f"<p>{LONG}</p>",
        '<div><a href="/web/English/2024-05/01/content_123001.html">Another Story</a></div><div>Its summary here.</div>',
        '<div><a href="/web/English/2024-05/02/content_123002.html">A Third Story</a></div><div>Another summary.</div>',
    )
    assert body_of(html) == [["", LONG]]


def test_a_lone_related_link_inside_the_body_is_skipped_not_an_end() -> None:
    html = page(
        *CRUMB_TITLE_META,
        f"<p>{LONG}</p>",
        '<p>Related: <a href="/web/English/2024-05/01/content_123001.html">Earlier report on the observatory</a></p>',
        f"<p>{LONG.replace('next year', 'in 2026')}</p>",
    )
    assert body_of(html) == [["", LONG, LONG.replace("next year", "in 2026")]]


def test_sub_headings_from_plain_lines_but_not_from_list_items() -> None:
    html = page(
        *CRUMB_TITLE_META,
        f"<p>{LONG}</p>",
        "<p>Shared labs, shared results</p>",
        f"<p>{LONG}</p>",
        "<ul><li>Quantum sensors</li><li>Satellite data</li></ul>",
        f"<p>{LONG}</p>",
    )
    assert body_of(html) == [["", LONG], ["Shared labs, shared results", LONG, "Quantum sensors", "Satellite data", LONG]]


def test_paragraphs_separated_only_by_line_breaks() -> None:
    html = page(*CRUMB_TITLE_META, f"<td>{LONG}<br><br>{LONG.upper()}<br/>{LONG.lower()}</td>")
    assert body_of(html) == [["", LONG, LONG.upper(), LONG.lower()]]


def test_captions_pair_with_the_nearest_picture_or_stand_alone() -> None:
    html = page(
        *CRUMB_TITLE_META,
        "<p>The ceremony in Hefei. (PHOTO: XINHUA)</p>",
        '<p><img src="/web/English/pic/2024-05/08/123456_a.jpg"></p>',
        "<p>By Staff Reporters</p>",
        f"<p>{LONG}</p>",
        "<p>A second view of the site. (Photo provided by USTC)</p>",
        f"<p>{LONG}</p>",
        '<p><img src="https://m.stdaily.com/web/English/pic/2024-05/08/123456_b.jpg" width="20" height="20"></p>',
    )
    record = extract_article(html, URL)
    assert record.images == [
        {"url": "https://www.stdaily.com/web/English/pic/2024-05/08/123456_a.jpg", "caption": "The ceremony in Hefei.", "credit": "PHOTO: XINHUA", "aliases": []},
        {"url": None, "caption": "A second view of the site.", "credit": "Photo provided by USTC", "aliases": []},
    ]
    assert record.byline == "Staff Reporters"
    assert record.body == [{"heading": None, "paragraphs": [LONG, LONG]}]


def test_a_sentence_starting_with_by_is_body_not_byline() -> None:
    first = "By 2030, the partners plan to open ten more joint laboratories across the region."
    html = page(*CRUMB_TITLE_META, f"<p>{first}</p>", f"<p>{LONG}</p>")
    record = extract_article(html, URL)
    assert record.byline is None
    assert record.body[0]["paragraphs"] == [first, LONG]


def test_editor_in_the_meta_line_and_title_repeated_in_the_content() -> None:
    html = page(
        "<div>position: EnglishChannel > Cooperation > Article</div>",
        "<h1>Labs Join Forces</h1>",
        "<p>Source：Xinhua | 2024/05/08 14:33 | Author：LI Hongche & LIANG Yilian | Editor：ZONG Shihan</p>",
        "<h2>Labs Join Forces</h2>",
        f"<p>{LONG}</p>",
    )
    record = extract_article(html, URL)
    assert (record.title, record.source, record.authors, record.editor) == (
        "Labs Join Forces", "Xinhua", ["LI Hongche", "LIANG Yilian"], "ZONG Shihan"
    )
    assert record.published_at == "2024-05-08T14:33:00+08:00"
    assert record.body == [{"heading": None, "paragraphs": [LONG]}]


def test_no_breadcrumb_the_title_is_the_line_above_the_meta_or_the_document_title() -> None:
    html = page(
        '<div><a href="/">Home</a> <a href="/web/English/node_410.html">Innovation China</a></div>',
        "<div>Subscribe to our newsletter</div>",
        "<div>Labs Join Forces</div>",
        "<div>Source: Xinhua | 2024-05-08 14:33:37 | Author: QI Liming</div>",
        f"<p>{LONG}</p>",
        head="<title>Labs Join Forces - 中国科技网</title>",
    )
    record = extract_article(html, URL)
    assert record.title == "Labs Join Forces"
    assert record.section_label is None and record.channel is None


def test_the_charset_of_the_http_header_wins_over_a_guess() -> None:
    html = page(*CRUMB_TITLE_META[:2], "<div>Source: 科技日报 | 2022-12-01 11:30:27 | Author: 卢子建</div>", f"<p>{LONG}</p>")
    record = extract_article(html.encode("gbk"), URL, content_type="text/html; charset=GBK")
    assert (record.source, record.authors) == ("科技日报", ["卢子建"])


def test_hidden_and_scripted_text_is_not_read() -> None:
    html = page(
        *CRUMB_TITLE_META,
        '<p style="display: none">Hidden spam keywords for search engines only.</p>',
        "<script>document.write('Injected sentence that nobody sees on the page.')</script>",
        f"<p>{LONG}</p>",
    )
    assert body_of(html) == [["", LONG]]


def test_list_entries_with_the_summary_on_the_title_line() -> None:
    html = page(
        "<div>position: EnglishChannel > Cooperation</div>",
        '<p><a href="http://stdaily.com/web/English/2024-05/08/content_123456.html">Labs Join Forces</a> Two labs will share data.</p>',
        '<p><a href="https://www.stdaily-copy.example/web/English/2024-05/07/content_123455.html">Copied</a> Spam.</p>',
        '<p><a href="/web/English/zt/2024/index.html">Special Report</a></p><p>Our coverage.</p>',
        '<p><a href="/English/WorldNews/202205/' + "0f" * 16 + '.shtml">Older Story</a></p><p>Its summary.</p>',
        "<div>Top News</div>",
        '<p><a href="/web/English/2024-05/06/content_123454.html">Sidebar Story</a></p>',
    )
    listing = extract_listing(html, "https://www.stdaily.com/web/English/node_426.html")
    assert listing.section_label == "Cooperation"
    assert [(e.url.rsplit("/", 1)[1], e.title, e.summary) for e in listing.entries] == [
        ("content_123456.html", "Labs Join Forces", "Two labs will share data."),
        ("0f" * 16 + ".shtml", "Older Story", "Its summary."),
    ]
    assert (listing.offsite_links, listing.other_links) == (1, 1)


# -- charset: the bytes decide when the declarations lie ------------------------------------------

CHINESE_META = "<div>Source: 科技日报 | 2022-12-01 11:30:27 | Author: 卢子建</div>"


def chinese_page(meta_charset: str | None) -> str:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">' if meta_charset else ""
    return page(*CRUMB_TITLE_META[:2], CHINESE_META, f"<p>{LONG}</p>", head=head)


def read(data: bytes, content_type: str | None) -> tuple[str | None, list[str], str | None, int]:
    record = extract_article(data, URL, content_type=content_type)
    return record.source, record.authors, record.charset, record.replacement_chars


@pytest.mark.parametrize(
    ("encoding", "meta", "header", "charset"),
    [
        ("gbk", "gbk", "text/html; charset=utf-8", "gb18030"),  # the header lies: GBK bytes are no UTF-8
        ("utf-8", "gbk", None, "utf-8"),  # the meta lies: the bytes are valid UTF-8 and hold Chinese
        ("utf-8", "gbk", "text/html; charset=GBK", "utf-8"),  # both lie
        ("gbk", "gbk", "text/html; charset=GBK", "gb18030"),  # honest GBK stays GBK
        ("gbk", "gbk", None, "gb18030"),
        ("gbk", None, "text/html; charset=gb2312", "gb18030"),
        ("gbk", "gbk", "text/html; charset=x-no-such-encoding", "gb18030"),  # an unknown name is no declaration
        ("utf-8", None, None, "utf-8"),
    ],
)
def test_the_bytes_decide_the_charset(encoding: str, meta: str | None, header: str | None, charset: str) -> None:
    data = chinese_page(meta).encode(encoding)
    assert read(data, header) == ("科技日报", ["卢子建"], charset, 0)


def test_an_ascii_page_reads_in_its_declared_encoding() -> None:
    data = page(*CRUMB_TITLE_META, f"<p>{LONG}</p>", head='<meta charset="iso-8859-1">').encode("ascii")
    record = extract_article(data, URL)
    assert (record.charset, record.replacement_chars, record.body[0]["paragraphs"]) == ("cp1252", 0, [LONG])


def test_a_latin_1_page_with_accents_reads_as_latin_1() -> None:
    text = "Les deux équipes ont présenté leurs résultats à Genève devant des chercheurs du monde entier."
    data = page(*CRUMB_TITLE_META, f"<p>{text}</p>", head='<meta charset="ISO-8859-1">').encode("latin-1")
    record = extract_article(data, URL, content_type="text/html")
    assert (record.charset, record.replacement_chars, record.body[0]["paragraphs"]) == ("cp1252", 0, [text])


def test_a_meta_declaring_utf_16_on_single_bytes_is_read_as_utf_8() -> None:
    data = chinese_page("utf-16").replace("</p>", " é</p>").encode("utf-8")
    data = data.replace("é".encode(), b"\xe9")  # one stray Latin-1 byte: not valid UTF-8 any more
    source, authors, charset, lost = read(data, None)
    assert (source, authors, charset, lost) == ("科技日报", ["卢子建"], "utf-8", 1)


def test_bytes_no_encoding_reads_are_counted_as_replacement_characters() -> None:
    good = chinese_page(None).encode("utf-8")
    data = good.replace(LONG.encode(), LONG.encode() + b" \xff\xfe\xfd ", 1)
    record = extract_article(data, URL, content_type="text/html; charset=utf-8")
    assert (record.source, record.charset, record.replacement_chars) == ("科技日报", "utf-8", 3)


def test_a_byte_order_mark_names_the_encoding() -> None:
    data = "\ufeff".encode("utf-16-le") + chinese_page("gbk").encode("utf-16-le")
    assert read(data, "text/html; charset=gbk") == ("科技日报", ["卢子建"], "utf-16-le", 0)


def test_a_page_given_as_text_has_no_charset() -> None:
    record = extract_article(chinese_page("gbk"), URL)
    assert (record.source, record.charset, record.replacement_chars) == ("科技日报", None, 0)


# -- the fast path's selectors match what CSS means -----------------------------------------------


def test_selector_matching_is_css_on_every_replica_page() -> None:
    from cssselect import HTMLTranslator
    from lxml import etree

    from stdcrawl.extract.page import parse
    from stdcrawl.extract.selectors import BY_FAMILY, PageIndex
    from stdcrawl.replica import render
    from stdcrawl.replica.model import ReplicaConfig, SiteModel

    model = SiteModel(ReplicaConfig(articles=40))
    sets = {s.version: s for family in BY_FAMILY.values() for s in family}.values()
    css = HTMLTranslator()
    found = 0
    for story in model.live_stories():
        for generation in story.paths:
            root = parse(render.article_page(model, story, generation, request_no=1))
            index = PageIndex(root)
            for selectors in sets:
                for part in ("breadcrumb", "title", "meta", "content", "editor"):
                    wanted = etree.XPath(css.css_to_xpath(getattr(selectors, part)))(root)
                    assert selectors.find(index, part) == wanted, (story.index, generation, selectors.version, part)
                    found += len(wanted)
    assert found > 100  # the sets do match the replica's pages
