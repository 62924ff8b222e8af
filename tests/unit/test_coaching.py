"""Nudges come from the rubric's thresholds; hints follow SPIN on the persona's own topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer.coaching import hint_for, nudges
from trainer.personas import director
from trainer.personas.loader import load_personas
from trainer.scoring.rubric import load_rubric
from trainer.spin.labels import Label
from trainer.spin.types import Classification

ROOT = Path(__file__).resolve().parents[2]
S, P, IMP, N = Label.SITUATION, Label.PROBLEM, Label.IMPLICATION, Label.NEED_PAYOFF


def test_six_situation_questions_and_no_problem_is_nudged_in_both_languages() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "spin.yaml")
    en = nudges(rubric, [S] * 6, "en")
    ru = nudges(rubric, [S] * 6, "ru")
    assert en[0].id == "situation_streak" and "6 situation" in en[0].text
    assert ru[0].id == "situation_streak" and "6 ситуационных" in ru[0].text
    assert nudges(rubric, [S, S], "en") == []
    assert [n.id for n in nudges(rubric, [S, P, IMP, S], "en")] == ["regression"]
    assert "pitch_before_need" in [n.id for n in nudges(rubric, [S, Label.PITCH], "en")]
    assert [n.id for n in nudges(rubric, [S, P], "en", pains_admitted=1)] == ["develop_problem"]
    assert [n.id for n in nudges(rubric, [S, P, IMP, N], "en", needs_stated=1)] == ["propose_meeting"]
    assert "over_time" in [n.id for n in nudges(rubric, [S, P], "en", elapsed_s=400)]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_hints_walk_the_director_to_a_meeting(lang: str) -> None:
    """Saying each hint, labelled as its intended type, moves this persona through S, P, I, N to a meeting."""
    personas = load_personas(ROOT / "personas")
    root = personas["logistics-director"]
    state, _ = director.open_call(root, lang, 3)  # type: ignore[arg-type]
    kinds = []
    for _ in range(12):
        hint = hint_for(director.persona_for_state(root, state, personas.__getitem__), state, lang)  # type: ignore[arg-type]
        if hint is None:
            break
        kinds.append(hint.kind)
        label = Label(hint.kind)
        state, _ = director.step(root, state, hint.text, Classification(label, 1.0, "", lang),  # type: ignore[arg-type]
                                 personas.__getitem__)
    assert state.outcome == "meeting_booked"
    assert kinds.index("situation") < kinds.index("problem") < kinds.index("implication") < kinds.index("need_payoff")
    assert kinds[-1] == "meeting_request"
    assert hint_for(root, state, lang) is None  # type: ignore[arg-type]
