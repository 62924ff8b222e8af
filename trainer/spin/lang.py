"""Language detection for one utterance: Russian when Cyrillic letters dominate, else English.

Cheap on purpose (no model): the trainer only speaks two languages, and a turn is short.
"""

from __future__ import annotations

from trainer.spin.labels import Lang

#: Share of Cyrillic among all letters above which a text counts as Russian.
CYRILLIC_SHARE = 0.3


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def detect_lang(text: str) -> Lang:
    """Return "ru" when at least 30% of the letters are Cyrillic, else "en" (also for no letters).

    A threshold below one half keeps Russian turns that quote Latin brand names ("наш CRM Bitrix24
    в облаке") Russian.
    """
    letters = 0
    cyrillic = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if _is_cyrillic(ch):
                cyrillic += 1
    if letters == 0:
        return "en"
    return "ru" if cyrillic / letters >= CYRILLIC_SHARE else "en"
