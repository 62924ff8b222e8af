"""The request guessed for a line on its arrival (trainer.web.ahead.guessed_request): the one the turn makes,
also once the call was put through to another persona, which it takes as a turn here last looked it up."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer import conversation
from trainer.personas import director
from trainer.personas.loader import load_persona_file
from trainer.services import personas as persona_service
from trainer.spin.classifier import APPROACH, classify_with
from trainer.spin.types import ContextTurn
from trainer.web.ahead import guessed_request
from trainer.web.recent import ReplyBasis

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
GATEKEEPER = load_persona_file(PERSONAS / "gatekeeper.yaml")
DIRECTOR = load_persona_file(PERSONAS / "logistics-director.yaml")
PUT_THROUGH = ("Good morning, this is Alex from FieldPro. Could you put me through to the logistics director, "
               "Mr Volkov? It's about an interview about the new warehouse in Kazan.")
NEXT = "How many trucks leave the Kazan warehouse on a normal day?"  # no other test labels it


def _put_through() -> ReplyBasis:
    state, _ = director.open_call(GATEKEEPER, "en", 7)
    history = (ContextTurn("client", "Northline, reception."),)
    decided = conversation.decide(GATEKEEPER, "en", state, history, PUT_THROUGH, lambda _id: DIRECTOR)
    assert decided.state.speaker == DIRECTOR.id, "the gatekeeper put the call through"
    history = (*history, ContextTurn("trainee", PUT_THROUGH), ContextTurn("client", "Volkov speaking."))
    return ReplyBasis(user_id=1, persona=GATEKEEPER, state=decided.state.to_dict(), seed=7, history=history)


def test_a_persona_no_turn_here_looked_up_is_left_to_the_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persona_service, "_RESOLVED", {})
    basis = _put_through()
    label = classify_with(NEXT, basis.history[-8:], "en", APPROACH)
    assert guessed_request("en", basis, NEXT, label) is None


def test_a_persona_a_turn_looked_up_is_taken_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persona_service, "_RESOLVED", {DIRECTOR.id: DIRECTOR})
    basis = _put_through()
    label = classify_with(NEXT, basis.history[-8:], "en", APPROACH)
    request = guessed_request("en", basis, NEXT, label)
    turn = conversation.decide(GATEKEEPER, "en", director.DirectorState.from_dict(basis.state), basis.history, NEXT,
                               lambda _id: DIRECTOR, lambda _text, _context, _lang: label)
    assert request is not None and turn.decision is not None
    assert request.persona is DIRECTOR and request.decision == turn.decision and request.state == turn.state
    assert request.history == (*basis.history, ContextTurn("trainee", NEXT)) and request.turn_index == 4
