"""Language detection for one utterance: Russian when Cyrillic letters dominate, else English.

Cheap on purpose (no model): the trainer only speaks two languages, and a turn is short.
"""

from __future__ import annotations

import re

from trainer.spin.labels import Lang

#: Share of Cyrillic among all letters above which a text counts as Russian.
CYRILLIC_SHARE = 0.3


_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")


def detect_lang(text: str) -> Lang:
    """Return "ru" when at least 30% of the letters are Cyrillic, else "en" (also for no letters).

    A threshold below one half keeps Russian turns that quote Latin brand names ("наш CRM Bitrix24
    в облаке") Russian.
    """
    # Counted in C (`map` of `str.isalpha`, the block's characters found by a regex): a loop over the
    # characters in Python cost more than labelling the rest of a turn's context.
    letters = sum(map(str.isalpha, text))
    if letters == 0:
        return "en"
    cyrillic = sum(map(str.isalpha, _CYRILLIC_RE.findall(text)))
    return "ru" if cyrillic / letters >= CYRILLIC_SHARE else "en"
