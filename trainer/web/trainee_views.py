"""What the trainee pages show, computed from a call: the coach's advice, the SPIN timeline, comparisons.

Kept apart from the routes so the page handlers stay thin and the shapes can be tested.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from trainer.coaching import hint_for, nudges
from trainer.db.base import utcnow
from trainer.db.models import Call
from trainer.personas import director
from trainer.personas.state import DirectorState, owned_by
from trainer.scoring.rubric import CallLengthThresholds, Rubric
from trainer.services.calls import check_lang
from trainer.services.personas import persona_of, resolver
from trainer.services.progress import scored_calls
from trainer.spin.labels import Label, Lang
from trainer.web.charts import Mark, timeline_svg
from trainer.web.i18n import Messages, translate

REAL_TIME_MIN_S = 5.0  # below this the call was typed too fast to read; place lines by their words instead


def band_of(rubric: Rubric) -> tuple[float, float]:
    timing = rubric.thresholds_of("call_length") or CallLengthThresholds()
    return float(timing.min_seconds), float(timing.max_seconds)


def elapsed_s(call: Call) -> float:
    end = call.ended_at or utcnow()
    return max((end - call.started_at).total_seconds(), 0.0)


def coach_of(db: Session, call: Call, rubric: Rubric) -> dict[str, Any]:
    """Nudges from the rubric and a next-question hint for the persona on the line now."""
    lang = check_lang(call.lang)
    state = DirectorState.from_dict(call.state)
    root = persona_of(call.persona_version)
    on_line = director.persona_for_state(root, state, resolver(db))
    labels = [Label(t.label) if t.label else Label.OTHER for t in call.turns if t.role == "trainee"]
    mine = on_line.id
    advice = nudges(rubric, labels, lang, elapsed_s=elapsed_s(call),
                    pains_admitted=len(owned_by(state.admitted_pains, mine)),
                    pains_developed=len(owned_by(state.developed_pains, mine)),
                    needs_stated=len(owned_by(state.explicit_needs, mine)))
    hint = hint_for(on_line, state, lang)
    return {"call": call.id, "mode": call.mode, "ended": call.ended, "elapsed_s": round(elapsed_s(call), 1),
            "band": list(band_of(rubric)), "nudges": [] if call.ended else [n.to_dict() for n in advice],
            "hint": hint.to_dict() if hint and not call.ended else None}


def line_times(call: Call, words_per_minute: float = 150.0, gap_s: float = 1.0) -> dict[int, float]:
    """Seconds from the start at which each turn began: real times, or estimated from words when typed fast."""
    start = call.started_at
    real: dict[int, float] = {}
    for t in call.turns:
        real[t.index] = max((t.created_at - start).total_seconds(), 0.0)
    if real and max(real.values()) >= REAL_TIME_MIN_S:
        return real
    clock, out = 0.0, {}
    for t in call.turns:
        out[t.index] = clock
        clock += len(t.text.split()) * 60.0 / words_per_minute + gap_s
    out[-1] = clock  # the estimated end
    return out


def timeline_of(call: Call, rubric: Rubric, messages: Messages, lang: Lang) -> Markup:
    timing = rubric.thresholds_of("call_length") or CallLengthThresholds()
    times = line_times(call, timing.words_per_minute, timing.turn_gap_seconds)
    marks = []
    for t in call.turns:
        if t.role != "trainee":
            continue
        label = Label(t.label) if t.label else Label.OTHER
        if not label.is_spin:
            continue
        marks.append(Mark(index=t.index, at_s=times[t.index], label=label.value, letter=label.letter,
                          name=translate(messages, lang, f"label_{label.value}")))
    duration = times.get(-1, elapsed_s(call))
    return timeline_svg(marks, duration, band_of(rubric), translate(messages, lang, "timeline_title"),
                        translate(messages, lang, "turn"), translate(messages, lang, "timeline_band"))


def earlier_on_persona(db: Session, call: Call, limit: int = 10) -> list[dict[str, Any]]:
    """This trainee's scored calls with the same persona up to this one, oldest first (at most `limit`)."""
    rows = [c for c in scored_calls(db, call.user, call.persona_id) if c.started_at <= call.started_at
            or c.call_id == call.id]
    return [{"id": c.call_id, "started_at": c.started_at.isoformat(), "total": c.total, "outcome": c.outcome,
             "mode": c.mode, "current": c.call_id == call.id} for c in rows[-limit:]]


def level_title(rubric: Rubric, level_id: str | None, lang: Lang) -> str:
    level = next((lv for lv in rubric.levels if lv.id == level_id), None)
    return level.title.get(lang) if level else (level_id or "")
