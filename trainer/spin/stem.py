"""A light suffix stripper for Russian and English words, so one feature covers a word's forms.

Not a full Snowball stemmer: it cuts the longest listed ending while keeping a stem of at least
three letters (Russian) or four (English). "проблемы", "проблемах", "проблемой" -> "проблем";
"задерживаются", "задерживается" -> "задержива"; "delays", "delayed" -> "delay". The learned
model uses the stems next to char n-grams, which already carry part of this signal; stems add it
for whole words, where char n-grams cannot tell a word's own ending from a neighbour's.
"""

from __future__ import annotations

import functools

_RU_ENDINGS = tuple(sorted((
    "иями", "ями", "ами", "ией", "ием", "иях", "ях", "ах", "ов", "ев", "ей", "ой", "ый", "ий", "ая", "яя",
    "ое", "ее", "ые", "ие", "ого", "его", "ому", "ему", "ым", "им", "ых", "их", "ую", "юю", "ом", "ем",
    "ами", "ться", "тся", "ется", "ются", "ится", "ятся", "ать", "ять", "ить", "еть", "уть", "ти",
    "ешь", "ет", "ют", "ут", "ит", "ят", "ем", "им", "ете", "ите", "ал", "ял", "ил", "ел", "ла", "ли",
    "ло", "лась", "лись", "лось", "ся", "сь", "а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "й",
), key=len, reverse=True))
_EN_ENDINGS = ("ations", "ation", "ments", "ment", "ness", "ings", "ing", "edly", "ies", "ied", "ed", "es",
               "ly", "er", "s")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word with its longest known ending cut; short words and digits are kept as they are."""
    if not word or word.isdigit():
        return word
    cyrillic = "а" <= word[0] <= "я"
    endings, keep = (_RU_ENDINGS, 3) if cyrillic else (_EN_ENDINGS, 4)
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= keep:
            return word[: -len(ending)]
    return word
