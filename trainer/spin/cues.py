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
from re import _constants as _const  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

from trainer.spin.labels import Label

#: Tags that change how a cue is used.
WEAK_IMPLICATION = "weak"  # "what happens when ...": implication only with a problem on the table
LEADING = "leading"  # a leading question that is really a pitch


#: More alternatives than this and checking each for a substring costs more than the search it saves.
MAX_NEEDS = 6


@dataclass(frozen=True, slots=True)
class Guarded:
    """A pattern and the text of which every match contains one piece (`needs`; empty: unknown)."""

    pattern: re.Pattern[str]
    needs: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: str) -> Guarded:
        pattern = re.compile(source)
        return cls(pattern, needs(pattern))

    def search(self, norm: str) -> re.Match[str] | None:
        """`pattern.search`, skipped when none of `needs` is in the text. A line is searched by every cue
        (about 90 a language) and most cues' words are absent: a substring test is a small part of a search."""
        needs = self.needs
        if needs and not (needs[0] in norm if len(needs) == 1 else any(n in norm for n in needs)):
            return None
        return self.pattern.search(norm)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cue(Guarded):
    """A guarded pattern that votes for `label` with `weight`."""

    label: Label
    weight: float
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
        pattern = re.compile(row[2])
        cues.append(Cue(pattern, needs(pattern), label=row[0], weight=row[1], tag=row[3] if len(row) == 4 else ""))
    return tuple(cues)


def needs(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Pieces of text of which every match of `pattern` contains one: the literal text its every match
    starts with (after word boundaries), or one per alternative of a leading group of alternatives.
    Empty when the pattern does not start so, ignores case, or has more than `MAX_NEEDS` alternatives."""
    if pattern.flags & re.IGNORECASE:
        return ()
    items = _after_anchors(list(_parser.parse(pattern.pattern, pattern.flags).data))
    if items and items[0][0] is _const.SUBPATTERN and len(items[0][1][-1].data) == 1:
        items = list(items[0][1][-1].data)  # a group around the whole start: look inside it
    if items and items[0][0] is _const.BRANCH:
        found = [_literal_start(_after_anchors(list(alt.data))) for alt in items[0][1][1]]
        return tuple(found) if all(found) and len(found) <= MAX_NEEDS else ()
    start = _literal_start(items)
    return (start,) if start else ()


def _after_anchors(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    while items and items[0][0] is _const.AT:  # \b, ^: they match no text
        items = items[1:]
    return items


def _literal_start(items: list[tuple[Any, Any]]) -> str:
    text = []
    for op, value in items:
        if op is not _const.LITERAL:
            break
        text.append(chr(value))
    return "".join(text)
