"""JSON shapes of the API, in one place so pages, API and tests agree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trainer.db.models import Call, Scorecard, Turn
from trainer.personas.model import Persona
from trainer.spin.labels import Label


def iso(moment: datetime) -> str:
    """A stored time in ISO 8601 with its UTC offset (`UtcDateTime` gives it back with its zone from every
    database)."""
    return moment.isoformat()


def turn_json(turn: Turn) -> dict[str, Any]:
    out: dict[str, Any] = {"index": turn.index, "role": turn.role, "text": turn.text,
                           "created_at": iso(turn.created_at)}
    if turn.role == "trainee":
        label = Label(turn.label) if turn.label else Label.OTHER
        out.update(label=turn.label, spin=label.value if label.is_spin else None, letter=label.letter,
                   confidence=turn.confidence, reason=(turn.detail or {}).get("reason"),
                   segments=(turn.detail or {}).get("segments", []), check=(turn.detail or {}).get("check"))
    else:
        out.update(engine=turn.engine, model=turn.model, latency_ms=turn.latency_ms,
                   tokens_in=turn.tokens_in, tokens_out=turn.tokens_out,
                   notice=(turn.detail or {}).get("notice"))
    return out


def trainee_json(turn: Turn) -> dict[str, Any]:
    full = turn_json(turn)
    return {k: full[k] for k in ("index", "text", "label", "spin", "letter", "confidence", "reason", "segments",
                                 "check")}


def client_json(turn: Turn | None) -> dict[str, Any] | None:
    if turn is None:
        return None
    return {"index": turn.index, "text": turn.text, "engine": turn.engine, "notice": (turn.detail or {}).get("notice")}


def scorecard_json(card: Scorecard | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return dict(card.data)


def call_json(call: Call, card: Scorecard | None = None, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": call.id,
        "persona": call.persona_id,
        "persona_version": call.persona_version.version,
        "lang": call.lang,
        "user": call.user.name,
        "engine": call.engine,
        "mode": call.mode,
        "parent_call_id": call.parent_call_id,
        "branched_at": call.branched_at,
        "started_at": iso(call.started_at),
        "ended_at": iso(call.ended_at) if call.ended_at else None,
        "ended": call.ended,
        "state": call.state,
    }
    if full:
        out["turns"] = [turn_json(t) for t in call.turns]
        out["scorecard"] = scorecard_json(card)
    else:
        out["turn_count"] = len(call.turns)
        out["total"] = card.total if card else None
    return out


def persona_json(persona: Persona, lang: str) -> dict[str, Any]:
    ui_lang = lang if lang in persona.languages else persona.languages[0]
    return {"id": persona.id, "name": persona.name_for(ui_lang), "role": persona.role,
            "lang": list(persona.languages), "difficulty": persona.difficulty,
            "summary": persona.summary_for(ui_lang)}
