"""Calibration (issue 5, item 8): for every listed persona in both languages, a good and a poor version of the
same call; the good one always scores higher, and the named checks and outcome are the expected ones.

The first tests use the hand labels in the files, so they check the scorer alone. The last one strips
the labels and lets the real classifier label every trainee turn, to catch drift between the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from trainer.personas.loader import load_personas
from trainer.scoring.calibration import (
    VERSIONS,
    CalibrationCall,
    list_calls,
    load_expected,
    score_calibration_call,
    strip_labels,
)
from trainer.scoring.rubric import Rubric, default_rubric_path, load_rubric
from trainer.scoring.scorer import score_call
from trainer.scoring.transcript import label_turns
from trainer.spin.labels import LANGS, Lang
from trainer.spin.types import Classification, ContextTurn

CALLS = list_calls()
BY_KEY = {c.key: c for c in CALLS}
PAIRS = sorted({(c.persona, c.lang) for c in CALLS})


def no_classifier(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification:
    raise AssertionError(f"calibration turn without a label: {text!r}")


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric(default_rubric_path())


def card_of(key: str, rubric: Rubric) -> dict[str, Any]:
    return score_calibration_call(BY_KEY[key], rubric, no_classifier)


def test_every_listed_persona_has_a_good_and_a_poor_call_in_both_languages() -> None:
    personas = load_personas(default_rubric_path().parent.parent / "personas")
    listed = sorted(pid for pid, p in personas.items() if p.listed)
    assert len(listed) >= 8
    missing = [f"{pid}.{lang}.{v}" for pid in listed for lang in LANGS for v in VERSIONS
               if f"{pid}.{lang}.{v}" not in BY_KEY]
    assert not missing, f"calibration calls missing: {missing}"
    assert {c.persona for c in CALLS} <= set(personas)


def test_every_call_has_expectations_and_every_expectation_a_call() -> None:
    assert set(load_expected()) == set(BY_KEY)


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_every_trainee_turn_is_labelled_and_timed(call: CalibrationCall) -> None:
    transcript = call.transcript()
    assert any(t.role == "trainee" for t in transcript.turns) and any(t.role == "client" for t in transcript.turns)
    assert all(t.label is not None for t in transcript.turns if t.role == "trainee")
    assert all(t.at is not None for t in transcript.turns)


@pytest.mark.parametrize(("persona", "lang"), PAIRS, ids=lambda v: str(v))
def test_good_version_scores_higher(persona: str, lang: str, rubric: Rubric) -> None:
    good = card_of(f"{persona}.{lang}.good", rubric)
    poor = card_of(f"{persona}.{lang}.poor", rubric)
    assert good["total"] > poor["total"], (good["total"], poor["total"])
    assert good["total"] - poor["total"] >= 30, "a good and a poor call should be far apart"
    assert good["passed"] and not poor["passed"]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_checks_and_outcome_match_expectations(call: CalibrationCall, rubric: Rubric) -> None:
    expected = load_expected()[call.key]
    card = card_of(call.key, rubric)
    assert card["checks"] == expected.checks
    assert card["outcome"] == expected.outcome
    assert card["lang"] == call.lang


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_evidence_quotes_come_from_the_call_and_tips_are_in_its_language(call: CalibrationCall,
                                                                        rubric: Rubric) -> None:
    transcript = call.transcript()
    card = card_of(call.key, rubric)
    for criterion in card["criteria"]:
        for ev in criterion["evidence"]:
            text = " ".join(transcript.turns[ev["turn"]].text.split())
            assert text.startswith(ev["quote"].rstrip("…")), (criterion["id"], ev)
        has_cyrillic = any("а" <= ch.lower() <= "я" for ch in criterion["tip"])
        assert has_cyrillic == (call.lang == "ru"), criterion["id"]


def test_scoring_a_calibration_call_twice_gives_the_same_card(rubric: Rubric) -> None:
    key = "three-contacts.ru.good"
    assert card_of(key, rubric) == card_of(key, rubric)


@pytest.mark.parametrize(("persona", "lang"), PAIRS, ids=lambda v: str(v))
def test_with_the_real_classifier_the_good_version_still_scores_higher(persona: str, lang: str,
                                                                      rubric: Rubric) -> None:
    """Labels from the classifier, not the files: catches classifier drift that would turn calibration unfair."""
    from trainer.spin.classifier import classify

    totals = {}
    for version in VERSIONS:
        transcript = strip_labels(BY_KEY[f"{persona}.{lang}.{version}"].transcript())
        turns = label_turns(transcript, classify)
        totals[version] = score_call(turns, rubric, transcript.lang, transcript.duration_s)["total"]
    assert totals["good"] > totals["poor"], totals
