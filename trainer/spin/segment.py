"""Split one trainee turn into sentences and questions, in Russian and English.

A turn such as "Good afternoon. How many trucks do you run? And how often do they break down?"
holds three acts; each is labelled on its own and the classifier then picks the turn's primary
label. Boundaries are ., ?, !, ;, an ellipsis and line breaks. A full stop does not end a segment
after a known abbreviation ("Mr.", "e.g.", "т.е.", "руб."), after a single capital initial
("A. Petrov"), or inside a number or address ("3.5", "15.00", "example.com").
"""

from __future__ import annotations

import functools
import re

#: Abbreviations (lowercase, without the final dot) after which "." is not a boundary.
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "eg", "ie", "inc", "ltd", "co",
    "jr", "sr", "approx", "dept", "corp", "a.m", "p.m", "u.s", "mln", "bn", "min", "max",
    "т.е", "т.д", "т.п", "т.к", "т.н", "г", "гг", "руб", "тыс", "млн", "млрд", "др", "пр", "ул", "им",
    "см", "ген", "зам", "нач", "коп", "кв", "ок", "прим", "т.ч", "в т.ч", "мин", "макс",
})
#: Abbreviations that only count as such before a number ("No. 5", "доб. 214").
_NUMBER_ABBREVIATIONS = frozenset({"no", "ext", "tel", "p", "pp", "доб", "тел", "стр", "д", "п", "кор", "оф"})

#: Text beyond this many characters is ignored: a spoken turn is never that long.
MAX_TEXT_CHARS = 10_000


@functools.cache
def _boundary_re() -> re.Pattern[str]:
    return re.compile(r"\n+|\.{2,}|…|[?!]+|[.;]")


def _word_before(text: str, end: int) -> str:
    """The token (letters and inner dots) just before position `end`, lowercased."""
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    return text[start:end].lower().strip(".")


def _is_boundary(text: str, start: int, end: int) -> bool:
    mark = text[start:end]
    if mark.startswith("\n") or mark in ("…",) or mark.startswith(".."):
        return True
    nxt = text[end] if end < len(text) else ""
    if mark[0] in "?!;":
        return True
    # A single full stop: needs whitespace (or the end) after it.
    if nxt and not nxt.isspace() and nxt not in "\"'»)”":
        return False
    word = _word_before(text, start)
    if not word:
        return True
    rest = text[end:].lstrip()
    if word in _ABBREVIATIONS:
        return False
    if word in _NUMBER_ABBREVIATIONS and rest[:1].isdigit():
        return False
    # A capital initial: "A. Petrov", "И. И. Иванов".
    return not (len(word) == 1 and text[start - 1].isupper() and rest[:1].isupper())


def split_segments(text: str) -> list[str]:
    """Split `text` into stripped segments that keep their end punctuation; drop empty bits.

    A segment with no letter or digit (stray punctuation, emoji) is dropped. Returns [] for blank
    text.
    """
    text = text[:MAX_TEXT_CHARS]
    segments: list[str] = []
    last = 0
    for match in _boundary_re().finditer(text):
        start, end = match.span()
        if not _is_boundary(text, start, end):
            continue
        piece = text[last:end] if not match.group().startswith("\n") else text[last:start]
        _append(segments, piece)
        last = end
    _append(segments, text[last:])
    return segments


def _append(segments: list[str], piece: str) -> None:
    piece = piece.strip().lstrip("-–—•*>").strip()
    if any(ch.isalnum() for ch in piece):
        segments.append(" ".join(piece.split()))
