"""Text normalisation shared by extraction and cleaning: pure string functions.

Spam mirrors (docs/site.md) turn non-breaking spaces into ``?`` (``Zhong?Jianli``,
``(PHOTO:?XINHUA)``); :func:`repair_mirror_damage` undoes that where the
characters on both sides show it cannot be a real question mark.

Every function here is linear in its input, whatever the input: no regex can
backtrack over a whole token (a page may hold one word of two million
characters), so a hostile page costs what its size costs. ASCII text, the
common case, skips the Unicode work it cannot need.
"""

from __future__ import annotations

import re
import unicodedata

# Every kind of space a page may carry, zero-width ones included.
_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+")

# A "?" glued between a word (or ":", ",", "|", "&", ")") and a word (or "(", "|", "&"):
# "Zhong?Jianli", "PHOTO:?XINHUA", "Daily?|?2021", "LI?Hongche?&?LIANG?Yilian". A question ends a sentence
# and is followed by a space, a quote or the end of the text, never by a letter.
_DAMAGED_QMARK = re.compile(r"(?<=[\w:,;|&)\]])\?(?=[\w(|&\[])")
_TAG = re.compile(r"</?[A-Za-z!][^<>]{0,1000}>")
# What marks a token as a URL, whose "?" is real: "https://", "www.", "page.html?", "?id=".
_URL_MARK = re.compile(r"://|www\.|\.s?html?\?|\.php\?|\?\w+=")
# A whitespace-delimited token holding a "?"; the lookbehind anchors each try at a token's
# start, so a long token is scanned once, not once per character.
_QMARK_TOKEN = re.compile(r"(?<!\S)\S*\?\S*")
_COPYRIGHT_QMARK = re.compile(r"\bCopyright\s*\?(?=\s|$)")

# Names that contain a separator but are one author (docs/site.md: authors seen).
PROTECTED_NAMES: tuple[str, ...] = (
    "Science and Technology Daily",
    "S&T Daily",
    "Staff Reporters",
    "The Editorial Office",
)
_CJK = re.compile(r"[\u3400-\u9fff]")
# A token (run of non-space characters) with at least one letter or digit. Anchored at a
# token's start and possessive, so a long token is scanned once whether or not it holds one.
_WORD = re.compile(r"(?<!\S)(?:[^\w\s]|_)*+[^\W_]\S*+")
_ASCII_SPACES = bytes.maketrans(b"\x1c\x1d\x1e\x1f", b"    ")
_ASCII_NOT_WORD = bytes(b for b in range(128) if not (chr(b).isalnum() or chr(b).isspace()))
_NAME_SEPARATORS = re.compile(r"\s*(?:&|,|;|/|、|，|；|\band\b)\s*")


# The characters _SPACES matches that str.split() does not split on.
_ZERO_WIDTH = {0x200B: " ", 0xFEFF: " "}


def normalize_space(text: str) -> str:
    """NFC, every space character to one plain space, trimmed.

    ``_SPACES`` is exactly the characters ``str.isspace()`` accepts plus two
    zero-width ones, so after those two are turned into spaces, ``str.split``
    does the same work as that regex (tests/test_text.py checks it), faster.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        if "\u200b" in text or "\ufeff" in text:
            text = text.translate(_ZERO_WIDTH)
    return " ".join(text.split())


def repair_mirror_damage(text: str) -> str:
    """Read a ``?`` that stands for a non-breaking space as a space.

    Real question marks and ``?`` inside URLs are left alone: a token (a run
    of non-space characters) that looks like a URL keeps all of its ``?``.
    Only tokens holding a ``?`` are looked at, each once.
    """
    if "?" not in text:
        return text
    text = _COPYRIGHT_QMARK.sub("Copyright ©", text)
    return _QMARK_TOKEN.sub(_repair_token, text)


def _repair_token(m: re.Match[str]) -> str:
    token = m.group()
    return token if _URL_MARK.search(token) else _DAMAGED_QMARK.sub(" ", token)


def clean_text(text: str | None) -> str:
    """The normal form of every text field: NFC, spaces collapsed, ``?`` damage repaired.

    Anything shaped like a tag is dropped: visible text holds none, so one can only
    come from markup the site escaped into its text, and the lake never carries it.
    """
    if not text:
        return ""
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = normalize_space(text)
    return normalize_space(repair_mirror_damage(text)) if "?" in text else text


def split_names(raw: str | None) -> list[str]:
    """Split an author field on ``&``, ``,`` and `` and``; organisations stay whole.

    >>> split_names("LI Hongche & LIANG Yilian")
    ['LI Hongche', 'LIANG Yilian']
    >>> split_names("Science and Technology Daily")
    ['Science and Technology Daily']
    """
    text = clean_text(raw)
    if not text:
        return []
    if not _NAME_SEPARATORS.search(text):  # one name (the common case): nothing to split or protect
        name = text.strip(" .;:-")
        return [name] if name else []
    kept: list[str] = []

    def hide(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    for name in PROTECTED_NAMES:
        text = re.sub(re.escape(name), hide, text, flags=re.IGNORECASE)
    names = []
    for part in _NAME_SEPARATORS.split(text):
        part = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], part)
        part = part.strip(" .;:-")
        if part:
            names.append(part)
    return names


def count_words(text: str) -> int:
    """Whitespace-separated tokens holding a letter or digit; each Chinese character counts as one."""
    if text.isascii():
        # Delete every byte that is neither a letter, a digit nor a space: a token vanishes
        # exactly when it held no letter or digit. The separators \x1c-\x1f, which str.split
        # splits on and bytes.split does not, become spaces.
        return len(text.encode("ascii").translate(_ASCII_SPACES, _ASCII_NOT_WORD).split())
    spaced = _CJK.sub(" \\g<0> ", text) if _CJK.search(text) else text
    return len(_WORD.findall(spaced))


def is_spam_line(text: str) -> bool:
    """A line of Chinese spam keywords (a mirror's injection), when found in an English article."""
    return not text.isascii() and _CJK.search(text) is not None and cjk_ratio(text) > 0.3 and len(_CJK.findall(text)) >= 6


def cjk_ratio(text: str) -> float:
    """Share of Chinese characters among the non-space characters."""
    if text.isascii():
        return 0.0
    cjk = len(_CJK.findall(text))
    if not cjk:
        return 0.0
    return cjk / len("".join(text.split()))


def fold_key(text: str) -> str:
    """``text`` compared ignoring case, spacing and punctuation: channel labels, titles."""
    return re.sub(r"[\W_]+", "", text).casefold()
