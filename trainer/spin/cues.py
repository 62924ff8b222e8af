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
    """Pieces of text of which every match of `pattern` contains one, the most telling such set: a run of
    literal text every match has (anywhere in it, not only at its start), or one such run per alternative
    of a group every match goes through. Longest shortest piece wins, then fewest pieces: "busy" rather
    than "i'm", "we're", ... in `(i'm|we're|...) (really )?busy`. Empty when nothing is certain, the
    pattern ignores case, or a group has more than `MAX_NEEDS` alternatives."""
    if pattern.flags & re.IGNORECASE:
        return ()
    found = _candidates(_parser.parse(pattern.pattern, pattern.flags).data)
    return max(found, key=lambda c: (min(map(len, c)), -len(c)), default=())


def _candidates(items: Any) -> list[tuple[str, ...]]:
    """Every needed set found in a sequence of parsed items, each of which every match of it goes through:
    its runs of literal characters (a zero-width item such as a word boundary keeps a run whole), the
    groups it must pass through (looked into), and its groups of alternatives (one run from each)."""
    found: list[tuple[str, ...]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            found.append(("".join(run),))
            run.clear()

    for op, value in items:
        if op is _const.LITERAL:
            run.append(chr(value))
            continue
        if op is _const.AT:
            continue
        close_run()
        if op is _const.SUBPATTERN and not value[1] & re.IGNORECASE:
            found.extend(_candidates(value[-1].data))
        elif op is _const.BRANCH:
            branch = _one_per_alternative(value[1])
            if branch:
                found.append(branch)
    close_run()
    return found


def _one_per_alternative(alternatives: Any) -> tuple[str, ...]:
    """The longest certain run of each alternative, without those that contain another (a match holding
    "transferring" holds "transfer"); empty if an alternative has none, or more than `MAX_NEEDS` remain."""
    pieces = set()
    for alt in alternatives:
        runs = [c[0] for c in _candidates(alt.data) if len(c) == 1]
        if not runs:
            return ()
        pieces.add(max(runs, key=len))
    kept = sorted(p for p in pieces if not any(q != p and q in p for q in pieces))
    return tuple(kept) if len(kept) <= MAX_NEEDS else ()
