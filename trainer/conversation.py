"""One turn of a call, as plain functions: classify -> director -> engine.

No storage here: the web service, `spin-trainer chat` and `simulate` all call these
and decide themselves what to keep. The director decides; the engine only speaks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trainer.engines.base import Engine, VoiceReply, VoiceRequest
from trainer.personas import director
from trainer.personas.director import Decision, DirectorState
from trainer.personas.model import Persona
from trainer.spin.classifier import classify
from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn

Resolver = Callable[[str], Persona]

CONTEXT_TURNS = 8  # how many previous turns the classifier sees


@dataclass(frozen=True, slots=True)
class Spoken:
    """A client line: the decision behind it, its words and what producing them cost."""

    decision: Decision
    reply: VoiceReply
    latency_ms: float


@dataclass(frozen=True, slots=True)
class TurnResult:
    classification: Classification
    state: DirectorState
    client: Spoken | None


def _speaker(root: Persona, decision: Decision, resolve: Resolver | None) -> Persona:
    if decision.speaker == root.id or resolve is None:
        return root
    return resolve(decision.speaker)


def speak(engine: Engine, persona: Persona, lang: Lang, decision: Decision, state: DirectorState,
          history: Sequence[ContextTurn], seed: int, turn_index: int,
          resolve: Resolver | None = None) -> Spoken:
    started = time.perf_counter()
    request = VoiceRequest(persona=_speaker(persona, decision, resolve), lang=lang, decision=decision,
                           state=state, history=tuple(history), seed=seed, turn_index=turn_index)
    reply = engine.voice(request)
    return Spoken(decision=decision, reply=reply, latency_ms=(time.perf_counter() - started) * 1000)


def open_call(engine: Engine, persona: Persona, lang: Lang, seed: int,
              resolve: Resolver | None = None) -> tuple[DirectorState, Spoken]:
    """The client picks up: the director's opening decision, voiced."""
    state, decision = director.open_call(persona, lang, seed)
    return state, speak(engine, persona, lang, decision, state, (), seed, 0, resolve)


def classify_turn(text: str, history: Sequence[ContextTurn], lang: Lang) -> Classification:
    return classify(text, tuple(history)[-CONTEXT_TURNS:], lang)


def take_turn(engine: Engine, persona: Persona, lang: Lang, seed: int, state: DirectorState,
              history: Sequence[ContextTurn], text: str, resolve: Resolver | None = None) -> TurnResult:
    """Label the trainee's line, let the director decide, and voice the decision (if the call goes on)."""
    classification = classify_turn(text, history, lang)
    if state.ended:
        return TurnResult(classification=classification, state=state, client=None)
    new_state, decision = director.step(persona, state, text, classification, resolve)
    trainee_turn = ContextTurn(role="trainee", text=text)
    spoken = speak(engine, persona, lang, decision, new_state, (*history, trainee_turn), seed,
                   len(history) + 1, resolve)
    return TurnResult(classification=classification, state=new_state, client=spoken)
