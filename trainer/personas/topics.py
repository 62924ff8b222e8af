"""Keyword matching that ties a trainee's question to a persona's fact, pain or contact.

Keywords are written as the start of words ("склад" matches "складе", "складом"),
so Russian endings need no stemmer. A keyword of several words matches those
words in order, each as a word start: "директор по логистике" also matches
"директору по логистике". The first keyword of a topic should be a plain noun
phrase: the scripted trainees build their questions from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


def normalize(text: str) -> str:
    """Lower case, ё as е, runs of spaces as one: the form every match works on."""
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е")).strip()


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str]:
    words = normalize(keyword).split()
    return re.compile(r"(?<!\w)" + r"\w*\W+".join(re.escape(w) for w in words))


def matches(text: str, keyword: str) -> bool:
    return bool(keyword.strip()) and _pattern(keyword).search(normalize(text)) is not None


def score(text: str, keywords: Iterable[str]) -> int:
    """How many of the keywords occur in the text (0 = off topic)."""
    low = normalize(text)
    return sum(1 for k in keywords if k.strip() and _pattern(k).search(low))


# "*" marks a word start; other entries match whole words only.
_RUDE: tuple[str, ...] = (
    "idiot*", "stupid", "moron*", "dumb", "shut up", "damn you", "fool", "fools", "loser*", "are you deaf",
    "crap", "bloody hell", "идиот*", "дурак*", "дура", "тупой", "тупая", "тупые", "тупица", "заткнись",
    "заткнитесь", "дебил*", "кретин*", "бестолоч*", "болван*", "придур*", "вы что глухой", "вы что глухая",
    "хам", "хамка", "козел", "козлы",
)


@lru_cache(maxsize=1)
def _rude_pattern() -> re.Pattern[str]:
    parts = [re.escape(w[:-1]) if w.endswith("*") else re.escape(w) + r"(?!\w)" for w in _RUDE]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")")


def is_rude(text: str) -> bool:
    """Insults in either language: trainees switch languages when they lose their temper."""
    return _rude_pattern().search(re.sub(r"[,!?.]", "", normalize(text))) is not None
