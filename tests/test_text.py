"""Text normalisation and fingerprints: the variants docs/site.md records, and each fast form against its definition."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import unicodedata

import pytest

from stdcrawl.fingerprint import NearDuplicates, simhash, to_hex
from stdcrawl.record import body_text
from stdcrawl.replica.model import ReplicaConfig, SiteModel
from stdcrawl.replica.truth import record
from stdcrawl.text import clean_text, count_words, normalize_space, repair_mirror_damage, split_names


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


# -- the fast forms against their definitions, on random text ---------------------------------

_ALPHABET = "ab Z9_?:|&()[],.—·é\u0301\u00a0\u200b\ufeff\u3000\t\n\x1c中卢?=/"


def _random_texts(seed: str, count: int = 3000) -> list[str]:
    r = random.Random(seed)
    return ["".join(r.choice(_ALPHABET) for _ in range(r.randint(0, 24))) for _ in range(count)]


def _normalize_space_definition(text: str) -> str:
    # NFC, then every run of these space characters to one space, trimmed: what docs/site.md's damage needs.
    spaces = re.compile(r"[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+")
    return spaces.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _repair_definition(text: str) -> str:
    # A "?" glued between a word-ish character and another is a space, unless its token
    # (a run of non-space characters) looks like a URL.
    url = re.compile(r"\S*(?:://|www\.|\.s?html?\?|\.php\?|\?\w+=)\S*")
    protected = [(m.start(), m.end()) for m in url.finditer(text)]
    text = re.sub(r"\bCopyright\s*\?(?=\s|$)", "Copyright ©", text)
    return re.sub(
        r"(?<=[\w:,;|&)\]])\?(?=[\w(|&\[])",
        lambda m: "?" if any(a <= m.start() < b for a, b in protected) else " ",
        text,
    )


def test_normalize_space_is_its_definition() -> None:
    for text in _random_texts("spaces"):
        assert normalize_space(text) == _normalize_space_definition(text), repr(text)


def test_repair_mirror_damage_is_its_definition() -> None:
    for text in _random_texts("qmarks") + ["see www.x.com/a?b=1 and Zhong?Jianli", "a.html?x y?z", "Copyright ?"]:
        assert repair_mirror_damage(text) == _repair_definition(text), repr(text)


def test_count_words_is_its_definition() -> None:
    r = random.Random("ascii words")
    ascii_texts = ["".join(chr(r.randrange(128)) for _ in range(r.randint(0, 16))) for _ in range(5000)]
    for text in _random_texts("words") + ascii_texts:
        spaced = re.sub(r"[\u3400-\u9fff]", " \\g<0> ", text)
        assert count_words(text) == len(re.findall(r"\S*[^\W_]\S*", spaced)), repr(text)


# -- fingerprints --------------------------------------------------------------------------------


def _simhash_definition(text: str) -> int:
    """Bit i is set when more than half of the word 3-grams' BLAKE2b-64 hashes (big-endian) have it."""
    words = re.findall(r"\w+", text.casefold())
    grams = list(zip(words, words[1:], words[2:], strict=False)) or [tuple(words)]
    counts = [0] * 64
    for gram in grams:
        value = int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            counts[bit] += value >> bit & 1
    return sum(1 << bit for bit in range(64) if counts[bit] > len(grams) // 2)


def _replica_texts() -> list[str]:
    model = SiteModel(ReplicaConfig(articles=30))
    return [body_text(record(model, story)["body"]) for story in model.stories]


def test_simhash_is_its_definition() -> None:
    texts = _replica_texts() + ["", "one", "two words", "Größe STRASSE ß 卢子建 said", "卢子建" * 40]
    texts += [" ".join(_random_texts(f"sim{n}", 40)) for n in range(20)]
    r = random.Random("ascii grams")
    texts += ["".join(chr(r.randrange(128)) for _ in range(r.randint(0, 300))) for _ in range(300)]
    for text in texts:
        assert simhash(text) == _simhash_definition(text), text[:60]


def test_near_identical_texts_are_a_few_bits_apart() -> None:
    text = _replica_texts()[0]
    edited = text.replace(" the ", " a ", 1)
    assert edited != text
    assert (simhash(text) ^ simhash(edited)).bit_count() <= 6
    assert (simhash(text) ^ simhash(_replica_texts()[1])).bit_count() > 6


def test_the_near_duplicate_index_finds_what_comparing_every_pair_finds() -> None:
    # Clustered like the replica's fingerprints (one band value shared by many) and spread at random; some a few
    # bits from an earlier one, some exactly on the limit, some repeated. The truth compares every earlier pair.
    r = random.Random("near duplicates")
    base = [r.getrandbits(64) for _ in range(40)]
    fingerprints: list[int] = []
    for n in range(3000):
        kind = n % 4
        if kind == 0:
            fp = r.getrandbits(64)
        elif kind == 1:
            fp = base[r.randrange(len(base))] & ~0x1FF | r.getrandbits(9)  # shares all but its lowest band
        elif fingerprints:
            fp = r.choice(fingerprints)
            for bit in r.sample(range(64), r.choice([0, 1, 5, 6, 7, 12])):
                fp ^= 1 << bit
        else:
            fp = 0
        fingerprints.append(fp)
    index = NearDuplicates(6)
    found_any = 0
    for n, fp in enumerate(fingerprints):
        got = index.add(fp, f"k{n}")
        truth = sorted((f"k{m}", d) for m, other in enumerate(fingerprints[:n]) if (d := (fp ^ other).bit_count()) <= 6)
        assert got == truth, n
        found_any += bool(truth)
    assert found_any > 1000


def test_simhash_is_the_same_in_every_process_whatever_the_hash_seed() -> None:
    script = (
        "import sys, json; from stdcrawl.fingerprint import simhash, to_hex; "
        "print(json.dumps([to_hex(simhash(t)) for t in json.load(sys.stdin)]))"
    )
    texts = _replica_texts()[:10] + ["卢子建 said the lab opened", ""]
    runs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), env=env,
                              capture_output=True, text=True, check=True, timeout=60)
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1] == [to_hex(_simhash_definition(t)) for t in texts]
