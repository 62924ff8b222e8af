"""Value types of the scorer: a labelled turn in, evidence and a criterion's verdict out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trainer.spin.labels import Label, Role

#: Longest evidence quote, in characters (an ellipsis marks a cut).
QUOTE_CHARS = 160


@dataclass(frozen=True)
class ScoringTurn:
    """One turn of a finished call. `label` only on trainee turns; `at` is seconds since the call began."""

    index: int
    role: Role
    text: str
    label: Label | None = None
    at: float | None = None


@dataclass(frozen=True)
class Evidence:
    """Where a point came from: the turn's index in the call and a short quote of it."""

    turn: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return {"turn": self.turn, "quote": self.quote}


@dataclass(frozen=True)
class Verdict:
    """A criterion's judgement before weighting: the share of its points earned (0..1), why, what next."""

    fraction: float
    evidence: tuple[Evidence, ...]
    tip: str


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """The turn's text on one line, cut at a word boundary with an ellipsis when longer than `limit`."""
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= limit:
        return flat
    piece = flat[: limit - 1]
    if " " in piece[limit // 2:]:
        piece = piece[: piece.rfind(" ")]
    return f"{piece.rstrip(' ,;:')}…"
