""""Try again from here": a new call that keeps an ended call's turns before a chosen trainee turn.

The director is pure and deterministic, so the state at the branch point is rebuilt by
replaying it over the kept trainee turns with their stored labels and the same seed; the
new call then goes on like any other. Turns are copied (never shared or edited) and keep
their original spacing in time, so the call timer and the scorer see the same pace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from trainer.db.base import utcnow
from trainer.db.models import Call, Turn, User
from trainer.personas import director
from trainer.personas.director import DirectorState
from trainer.personas.model import Persona
from trainer.services.calls import CallError, check_lang
from trainer.services.personas import persona_of, resolver
from trainer.spin.labels import Label, Lang
from trainer.spin.types import Classification

Resolver = Callable[[str], Persona]


def replay_state(persona: Persona, lang: Lang, seed: int, turns: Sequence[Turn],
                 resolve: Resolver | None = None) -> DirectorState:
    """The director's state after `turns` (in order): open the call, then step over each trainee turn."""
    state, _ = director.open_call(persona, lang, seed)
    for turn in turns:
        if turn.role != "trainee":
            continue
        label = Label(turn.label) if turn.label else Label.OTHER
        detail = turn.detail or {}
        classification = Classification(label=label, confidence=float(turn.confidence or 0.0),
                                        reason=str(detail.get("reason") or ""), lang=lang)
        state, _ = director.step(persona, state, turn.text, classification, resolve)
    return state


def branch_call(db: Session, user: User, parent: Call, at_index: int, engine_name: str) -> Call:
    """A new call for `user` holding `parent`'s turns before trainee turn `at_index`; the trainee speaks next."""
    if parent.user_id != user.id:
        raise CallError(403, "only the trainee who held this call can try it again")
    if not parent.ended:
        raise CallError(409, "finish this call first (hang up), then try again from any of your lines")
    target = next((t for t in parent.turns if t.index == at_index), None)
    if target is None or target.role != "trainee":
        raise CallError(422, f"turn {at_index} is not one of your lines in call {parent.id}")
    kept = [t for t in parent.turns if t.index < at_index]
    persona = persona_of(parent.persona_version)
    lang = check_lang(parent.lang)
    state = replay_state(persona, lang, parent.seed, kept, resolver(db))
    now = utcnow()
    elapsed = _elapsed(parent, kept)
    call = Call(user_id=user.id, persona_version_id=parent.persona_version_id, persona_id=parent.persona_id,
                lang=lang, seed=parent.seed, engine=engine_name, mode=parent.mode, parent_call_id=parent.id,
                branched_at=at_index, state=state.to_dict(), started_at=now - elapsed)
    db.add(call)
    db.flush()
    for t in kept:
        offset = _offset(parent, t)
        db.add(Turn(call_id=call.id, index=t.index, role=t.role, text=t.text, label=t.label,
                    confidence=t.confidence, detail=dict(t.detail or {}), engine=t.engine, model=t.model,
                    latency_ms=t.latency_ms, tokens_in=t.tokens_in, tokens_out=t.tokens_out, request_key=None,
                    created_at=call.started_at + offset))
    db.flush()
    db.refresh(call)
    return call


def _offset(call: Call, turn: Turn) -> timedelta:
    return max(turn.created_at - call.started_at, timedelta(0))


def _elapsed(call: Call, kept: Sequence[Turn]) -> timedelta:
    return max((_offset(call, t) for t in kept), default=timedelta(0))
