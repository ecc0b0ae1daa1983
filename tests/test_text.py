from __future__ import annotations

import pytest

from stdcrawl.text import clean_text, count_words, split_names


@pytest.mark.parametrize(
    ("damaged", "clean"),
    [
        ("Zhong?Jianli", "Zhong Jianli"),
        ("(PHOTO:?XINHUA)", "(PHOTO: XINHUA)"),
        ("Science and Technology Daily?|?2021-11-11", "Science and Technology Daily | 2021-11-11"),
        ("covered 30?square kilometers", "covered 30 square kilometers"),
        ("LI?Hongche?&?LIANG?Yilian", "LI Hongche & LIANG Yilian"),
        ("Copyright ? Science and Technology Daily", "Copyright © Science and Technology Daily"),
        # Real question marks stay.
        ("What does this mean? Cheaper products.", "What does this mean? Cheaper products."),
        ('"Is it ready?" she asked.', '"Is it ready?" she asked.'),
        ("Why?", "Why?"),
        ("see https://www.stdaily.com/a.html?id=3 now", "see https://www.stdaily.com/a.html?id=3 now"),
    ],
)
def test_question_marks_standing_for_spaces_are_repaired(damaged: str, clean: str) -> None:
    assert clean_text(damaged) == clean


def test_clean_text_normalises_unicode_and_every_kind_of_space() -> None:
    assert clean_text("  Cafe\u0301\u00a0\u3000 news\u200b\n\tdesk ") == "Café news desk"


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("QI Liming", ["QI Liming"]),
        ("LI Hongche & LIANG Yilian", ["LI Hongche", "LIANG Yilian"]),
        ("LI Hongche, LIANG Yilian and ZONG Shihan", ["LI Hongche", "LIANG Yilian", "ZONG Shihan"]),
        ("Science and Technology Daily", ["Science and Technology Daily"]),
        ("Staff Reporters", ["Staff Reporters"]),
        ("The Editorial Office", ["The Editorial Office"]),
        ("Zhong?Jianli", ["Zhong Jianli"]),
        ("卢子建", ["卢子建"]),
        ("卢子建、宗诗涵", ["卢子建", "宗诗涵"]),
        ("", []),
        ("  ", []),
    ],
)
def test_authors_are_split_and_organisations_kept_whole(raw: str, names: list[str]) -> None:
    assert split_names(raw) == names


def test_word_count_counts_tokens_and_each_chinese_character() -> None:
    assert count_words("China's 1,000 labs — e-commerce") == 4
    assert count_words("卢子建 said") == 4
    assert count_words("") == 0
