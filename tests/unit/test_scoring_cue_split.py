"""The scorer's cue lists, searched one pattern at a time behind a substring pre-check, answer exactly what
one alternation of the whole list answered: on every turn and context line of the labelled corpus, every
calibration call, each sentence of them, and edge cases, for every list in both languages."""

from __future__ import annotations

import re

from trainer.scoring import cues
from trainer.scoring.calibration import calibration_dir
from trainer.scoring.transcript import parse_transcript
from trainer.spin.corpus import load_corpus

EDGES = ["", "no", "No.", "нет", "Нет. До свидания", "not interested, thanks", "call me back later", "tuesday at 3",
         "во вторник в 15", "We're all set!", "I said NO", "ok", "?", "\u00a0нет\u00a0",
         # lists the corpus rarely reaches: a line for each, and near misses
         "Fine, we'll take it.", "We'd like to place an order today.", "we will order them", "We'll think it over.",
         "Это не ко мне, это к директору.", "It's not my decision, talk to my boss.", "Not the right person, sorry.",
         "Берём, оформляйте заказ.", "Давайте закажем пробную партию.", "order of business", "a decision-maker"]


def _lists() -> list[tuple[str, str, tuple[str, ...]]]:
    out = [("client", name, table) for name, table in cues._CLIENT.items()]
    out += [("trainee", name, table) for name, table in cues._TRAINEE.items()]
    return [*out, ("next", "meeting", cues._MEETING), ("next", "call", cues._CALL)]


def _texts() -> list[str]:
    texts = set(EDGES)
    for split in ("train", "heldout"):
        for item in load_corpus(split=split):
            texts.add(item.text)
            texts.update(turn.text for turn in item.context)
    for path in sorted(calibration_dir().glob("*.json")):
        texts.update(turn.text for turn in parse_transcript(path.read_text(encoding="utf-8")).turns)
    for text in list(texts):  # criticises_competitor reads a line sentence by sentence
        texts.update(re.split(r"(?<=[.!?])\s+", text))
    return sorted(texts)


def test_each_pattern_alone_answers_what_the_alternation_answered() -> None:
    texts = _texts()
    assert len(texts) > 5000
    uncached = cues._hit.__wrapped__  # type: ignore[attr-defined]
    matched = 0
    for group, name, table in _lists():
        alternation = re.compile("|".join(f"(?:{p})" for p in table))
        assert len(cues._compiled(group, name)) == len(table)
        hits = 0
        for text in texts:
            expected = alternation.search(cues._normal(text)) is not None
            assert uncached(group, name, text) == expected, (group, name, text)
            hits += expected
        assert hits > 0, f"no text exercises {group}/{name}: add one to EDGES"
        matched += hits
    assert matched > 1000



def test_most_patterns_have_a_pre_check() -> None:
    compiled = [entry for group, name, _ in _lists() for entry in cues._compiled(group, name)]
    assert sum(bool(cue.needs) for cue in compiled) > len(compiled) // 2
