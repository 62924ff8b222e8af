"""One turn of a call, as plain functions: classify -> director -> engine.

No storage here: the web service, `spin-trainer chat` and `simulate` all call these
and decide themselves what to keep. The director decides; the engine only speaks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from trainer.engines.base import Engine, VoiceReply, VoiceRequest
from trainer.personas import director
from trainer.personas.director import Decision, DirectorState
from trainer.personas.model import Persona
from trainer.spin.classifier import classify
from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn

Resolver = Callable[[str], Persona]
# Offline by default; with an LLM configured the app passes one that confirms low-confidence labels.
Classifier = Callable[[str, Sequence[ContextTurn], Lang | None], Classification]


@runtime_checkable
class CheckingClassifier(Protocol):
    """A classifier that may ask a model about an unsure offline label (trainer.spin.llm.LLMClassifier).

    Split in two so a caller holding a database transaction can close it (and give up its place)
    only when the model will really be asked.
    """

    def __call__(self, text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification: ...

    def unsure(self, offline: Classification) -> bool: ...

    def confirm(self, text: str, context: Sequence[ContextTurn], lang: Lang, offline: Classification
                ) -> Classification: ...


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


def speaker_of(root: Persona, decision: Decision, resolve: Resolver | None) -> Persona:
    if decision.speaker == root.id or resolve is None:
        return root
    return resolve(decision.speaker)


def speak_request(engine: Engine, request: VoiceRequest) -> Spoken:
    started = time.perf_counter()
    reply = engine.voice(request)
    return Spoken(decision=request.decision, reply=reply, latency_ms=(time.perf_counter() - started) * 1000)


def speak(engine: Engine, persona: Persona, lang: Lang, decision: Decision, state: DirectorState,
          history: Sequence[ContextTurn], seed: int, turn_index: int,
          resolve: Resolver | None = None) -> Spoken:
    request = VoiceRequest(persona=speaker_of(persona, decision, resolve), lang=lang, decision=decision,
                           state=state, history=tuple(history), seed=seed, turn_index=turn_index)
    return speak_request(engine, request)


def open_call(engine: Engine, persona: Persona, lang: Lang, seed: int,
              resolve: Resolver | None = None) -> tuple[DirectorState, Spoken]:
    """The client picks up: the director's opening decision, voiced."""
    state, decision = director.open_call(persona, lang, seed)
    return state, speak(engine, persona, lang, decision, state, (), seed, 0, resolve)


def classify_turn(text: str, history: Sequence[ContextTurn], lang: Lang,
                  classifier: Classifier = classify) -> Classification:
    return classifier(text, tuple(history)[-CONTEXT_TURNS:], lang)


@dataclass(frozen=True, slots=True)
class Decided:
    """The trainee's line labelled and the director's answer chosen, before anyone speaks."""

    classification: Classification
    state: DirectorState
    decision: Decision | None


def decide(persona: Persona, lang: Lang, state: DirectorState, history: Sequence[ContextTurn], text: str,
           resolve: Resolver | None = None, classifier: Classifier = classify) -> Decided:
    classification = classify_turn(text, history, lang, classifier)
    if state.ended:
        return Decided(classification=classification, state=state, decision=None)
    new_state, decision = director.step(persona, state, text, classification, resolve)
    return Decided(classification=classification, state=new_state, decision=decision)


def take_turn(engine: Engine, persona: Persona, lang: Lang, seed: int, state: DirectorState,
              history: Sequence[ContextTurn], text: str, resolve: Resolver | None = None) -> TurnResult:
    """Label the trainee's line, let the director decide, and voice the decision (if the call goes on)."""
    decided = decide(persona, lang, state, history, text, resolve)
    if decided.decision is None:
        return TurnResult(classification=decided.classification, state=decided.state, client=None)
    trainee_turn = ContextTurn(role="trainee", text=text)
    spoken = speak(engine, persona, lang, decided.decision, decided.state, (*history, trainee_turn), seed,
                   len(history) + 1, resolve)
    return TurnResult(classification=decided.classification, state=decided.state, client=spoken)
