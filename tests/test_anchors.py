"""The visible-line parsers, on the exact variants docs/site.md records."""

from __future__ import annotations

import pytest

from stdcrawl.extract import anchors
from stdcrawl.text import clean_text


@pytest.mark.parametrize(
    ("line", "source", "published", "author"),
    [
        ("Source: Science and Technology Daily | 2024-05-08 14:33:37 | Author: QI Liming",
         "Science and Technology Daily", "2024-05-08T14:33:37+08:00", "QI Liming"),
        ("Source:Science and Technology Daily | 2023-12-21 09:50:42 | Author:ZONG Shihan",
         "Science and Technology Daily", "2023-12-21T09:50:42+08:00", "ZONG Shihan"),
        ("Source: | 2024-05-17 15:46:17 | Author:", None, "2024-05-17T15:46:17+08:00", ""),
        ("Source: | 2021-12-22 09:51:07| Author: Science and Technology Daily",
         None, "2021-12-22T09:51:07+08:00", "Science and Technology Daily"),
        ("Source: Science and Technology Daily| 2021-11-11 09:31:08| Author: Zhong?Jianli",
         "Science and Technology Daily", "2021-11-11T09:31:08+08:00", "Zhong Jianli"),
        ("Source: 科技日报 | 2022-12-01 11:30:27 | Author: 卢子建", "科技日报", "2022-12-01T11:30:27+08:00", "卢子建"),
        ("Source: Xinhua | 2024-05-08 | Author: QI Liming", "Xinhua", "2024-05-08T00:00:00+08:00", "QI Liming"),
    ],
)
def test_meta_line_variants(line: str, source: str | None, published: str, author: str) -> None:
    meta = anchors.parse_meta(clean_text(line))
    assert meta == anchors.Meta(source, published, author)


@pytest.mark.parametrize(
    "line",
    ["China and Germany signed the deal on 2024-05-08.", "Source: official statistics", "2024-05-08 14:33:37", "Top News"],
)
def test_lines_that_are_not_meta_lines(line: str) -> None:
    assert anchors.parse_meta(line) is None


@pytest.mark.parametrize(
    ("line", "label", "tail"),
    [
        ("position: EnglishChannel > Cooperation > Article", "Cooperation", "Article"),
        ("position: EnglishChannel > International Cooperation > Article", "International Cooperation", "Article"),
        ("position: EnglishChannel  > Cooperation> China Actively Advances Global Sci-tech Cooperation",
         "Cooperation", "China Actively Advances Global Sci-tech Cooperation"),
        ("EnglishChannel  > Innovation China", "Innovation China", None),
        ("position: EnglishChannel??> Cooperation> Is the Lab Ready?", "Cooperation", "Is the Lab Ready?"),
    ],
)
def test_breadcrumbs(line: str, label: str, tail: str | None) -> None:
    assert anchors.looks_like_crumb_start(line)
    assert anchors.parse_crumb(line) == anchors.Crumb(label, tail)


@pytest.mark.parametrize(
    ("line", "caption", "credit"),
    [
        ("Researchers at work in Hefei. (PHOTO: XINHUA)", "Researchers at work in Hefei.", "PHOTO: XINHUA"),
        ("A view of the expo. (PHOTO: VCG)", "A view of the expo.", "PHOTO: VCG"),
        ("The new lab. (COURTESY PHOTO)", "The new lab.", "COURTESY PHOTO"),
        ("The team. (Photo provided by Tsinghua University)", "The team.", "Photo provided by Tsinghua University"),
        ("The ceremony. (PHOTO: S&T Daily)", "The ceremony.", "PHOTO: S&T Daily"),
        ("(COURTESY PHOTO)", None, "COURTESY PHOTO"),
    ],
)
def test_caption_credits(line: str, caption: str | None, credit: str) -> None:
    assert anchors.split_credit(line) == (caption, credit)


def test_a_parenthesis_that_is_no_credit_is_no_caption() -> None:
    assert anchors.split_credit("The deal was signed by the two ministries (see below).") is None


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("By QI Liming", "QI Liming"),
        ("By Staff Reporters", "Staff Reporters"),
        ("By LI Hongche & LIANG Yilian", "LI Hongche & LIANG Yilian"),
        ("Edited by LIN Yuchen", "LIN Yuchen"),
        ("By The Editorial Office", "The Editorial Office"),
        ("By 2030, China will build ten more labs.", None),
        ("By contrast, the old model was slow", None),
        ("Bystanders watched the launch.", None),
    ],
)
def test_bylines(line: str, name: str | None) -> None:
    assert anchors.parse_byline(line) == name


def test_editor_line_and_end_markers() -> None:
    assert anchors.parse_editor("Editor: 宗诗涵") == "宗诗涵"
    assert anchors.parse_editor("Editor's note: this story was updated on Monday to add figures") is None
    assert anchors.is_end_marker("Top News")
    assert anchors.is_end_marker("Copyright © Science and Technology Daily, All Rights Reserved")
    assert not anchors.is_end_marker("The news came on Monday.")


@pytest.mark.parametrize(
    ("line", "end"),
    [
        ("©", True),
        ("© 2024 Science and Technology Daily", True),
        ("(c) 2024 stdaily.com", True),
        ("mailto: yuhy@stdaily.com", True),
        ("Science and Technology Daily. ALL RIGHTS RESERVED.", True),
        ("Contact us | All rights reserved by the publisher", True),
        ("The copyright of the new design belongs to the lab.", False),
        ("Rights were reserved for the partners in the first year.", False),
    ],
)
def test_footer_lines(line: str, end: bool) -> None:
    assert anchors.is_end_marker(line) is end


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("The new lab. (COURTESY PHOTO)  ", ("The new lab.", "COURTESY PHOTO")),
        ("新实验室。（PHOTO: XINHUA）", ("新实验室。", "PHOTO: XINHUA")),
        ("The new lab (COURTESY PHOTO) opened on Monday.", None),
    ],
)
def test_a_credit_closes_the_line(line: str, found: tuple[str, str] | None) -> None:
    assert anchors.split_credit(line) == found
