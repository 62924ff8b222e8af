"""The label taxonomy shared by the classifier, the director, the scorer and the UI.

The four SPIN question types plus the non-SPIN dialogue acts of a cold call.
The string values are a public contract (API, CLI, stored turns).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")
Role = Literal["trainee", "client"]


class Label(StrEnum):
    SITUATION = "situation"
    PROBLEM = "problem"
    IMPLICATION = "implication"
    NEED_PAYOFF = "need_payoff"
    PITCH = "pitch"
    GREETING = "greeting"
    ROUTING = "routing"
    PERMISSION = "permission"
    MEETING_REQUEST = "meeting_request"
    CONFIRMATION = "confirmation"
    OBJECTION_RESPONSE = "objection_response"
    CLOSING = "closing"
    OTHER = "other"

    @property
    def is_spin(self) -> bool:
        return self in SPIN_LABELS

    @property
    def letter(self) -> str:
        """One-letter badge: S, P, I, N for SPIN types, '·' otherwise."""
        return _LETTERS.get(self, "·")


SPIN_LABELS: frozenset[Label] = frozenset(
    {Label.SITUATION, Label.PROBLEM, Label.IMPLICATION, Label.NEED_PAYOFF}
)
SPIN_ORDER: tuple[Label, ...] = (Label.SITUATION, Label.PROBLEM, Label.IMPLICATION, Label.NEED_PAYOFF)
_LETTERS = {Label.SITUATION: "S", Label.PROBLEM: "P", Label.IMPLICATION: "I", Label.NEED_PAYOFF: "N"}
