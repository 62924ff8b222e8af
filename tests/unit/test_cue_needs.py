"""A cue skips its search when none of the text it needs is in the line: the same matches as searching every
time, on every line and context turn of the labelled corpus, in both languages."""

from __future__ import annotations

import re

import pytest

from trainer.spin import cues_en, cues_ru
from trainer.spin.classifier import normalize
from trainer.spin.corpus import load_corpus
from trainer.spin.cues import MAX_NEEDS, needs
from trainer.spin.segment import split_segments


def _texts() -> list[str]:
    out: set[str] = set()
    for split in ("train", "heldout"):
        for item in load_corpus(split=split):
            out.add(normalize(item.text))
            out.update(normalize(piece) for piece in split_segments(item.text))
            out.update(normalize(turn.text) for turn in item.context)
    return sorted(out)


@pytest.mark.parametrize("lexicon", [cues_en.lexicon, cues_ru.lexicon], ids=["en", "ru"])
def test_skipping_by_needed_text_finds_the_same_matches_as_searching(lexicon) -> None:  # type: ignore[no-untyped-def]
    texts = _texts()
    cues = lexicon().cues
    assert len(texts) > 4000
    assert sum(bool(cue.needs) for cue in cues) > len(cues) // 2, "most cues have a needed text"
    found = 0
    for cue in cues:
        for text in texts:
            skipped, searched = cue.search(text), cue.pattern.search(text)
            assert (skipped and skipped.span()) == (searched and searched.span()), (cue.pattern.pattern, text)
            found += searched is not None
    assert found > 1000  # the corpus does exercise the cues


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"\bhow many\b", ("how many",)),
    (r"\b(?:currently|right now)\b", ("currently", "right now")),
    (r"\bкак (?:у вас )?устроен", ("устроен",)),  # the longest certain run, wherever it is
    (r"\bлома|\bсломал", ("лома",)),  # "сломал" holds "лома": one piece covers both
    (r"\b(?:в |во )?понедельник", ("понедельник",)),  # an optional start, then a certain word
    (r"\b(i'?m|we'?re|i am|we are) (really |very |too )?busy\b", ("busy",)),
    (r"\b(?:put|transfer|transferring|connect)", ("connect", "put", "transfer")),
    (r"\b\w+ing\b", ("ing",)),
    (r"\b\w+\b", ()),
    (r"(?i)\bhello", ()),  # case folded: a substring test would miss "Hello"
    (r"(?i:hello) there", (" there",)),  # only the part that keeps case
    (r"(?:ab)+c", ("c",)),  # a repeated group is not looked into
    ("|".join(f"{chr(97 + i)}x{chr(97 + i)}" for i in range(MAX_NEEDS + 1)), ()),  # too many to test one by one
    (r"\b(?:does|did) you", (" you",)),  # the parser takes out what all alternatives start with
])
def test_needs_are_only_what_every_match_contains(pattern: str, expected: tuple[str, ...]) -> None:
    assert needs(re.compile(pattern)) == expected
