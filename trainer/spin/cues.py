"""The cue model shared by the per-language lexicons (cues_en, cues_ru).

A cue is a regular expression over normalised text (lowercase, ё -> е, straight apostrophes),
a label it votes for, and a weight. Weights encode the precedence the taxonomy needs: a value
question outweighs a consequence question, which outweighs a difficulty word, which outweighs a
plain fact-finding word; strong dialogue-act phrases ("put me through", "two minutes") outweigh
them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trainer.spin.labels import Label

#: Tags that change how a cue is used.
WEAK_IMPLICATION = "weak"  # "what happens when ...": implication only with a problem on the table
LEADING = "leading"  # a leading question that is really a pitch


@dataclass(frozen=True, slots=True)
class Cue:
    label: Label
    weight: float
    pattern: re.Pattern[str]
    tag: str = ""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Everything language-specific the classifier needs."""

    cues: tuple[Cue, ...]
    question_start: re.Pattern[str]  # a segment that opens like a question even without "?"
    problem_talk: re.Pattern[str]  # a client turn admitting a difficulty
    objection_talk: re.Pattern[str]  # a client turn raising an objection
    reasons: dict[str, str] = field(default_factory=dict)  # label value / special key -> phrase


def build(spec: list[tuple[Label, float, str] | tuple[Label, float, str, str]]) -> tuple[Cue, ...]:
    """Compile a cue table written as (label, weight, regex[, tag]) rows."""
    cues: list[Cue] = []
    for row in spec:
        tag = row[3] if len(row) == 4 else ""
        cues.append(Cue(row[0], row[1], re.compile(row[2]), tag))
    return tuple(cues)
