"""A trainee's own progress: totals over time, the S/P/I/N mix, meetings booked, calls per persona.

Read-only queries over the caller's calls; the pages draw the numbers. A call counts once
it has a scorecard (it was scored on hang-up); meetings come from the director's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from trainer.db.models import Call, Scorecard, Turn, User
from trainer.spin.labels import SPIN_ORDER


@dataclass(frozen=True, slots=True)
class ScoredCall:
    call_id: int
    persona_id: str
    started_at: datetime
    total: int
    outcome: str | None
    mode: str


@dataclass
class PersonaStats:
    persona_id: str
    calls: int = 0
    meetings: int = 0
    best: int | None = None
    last: int | None = None


@dataclass
class Progress:
    scored: list[ScoredCall] = field(default_factory=list)  # oldest first
    mix: dict[str, int] = field(default_factory=dict)  # SPIN label -> questions asked
    calls: int = 0  # every call, scored or not
    meetings: int = 0
    per_persona: list[PersonaStats] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        return sum(c.total for c in self.scored) / len(self.scored) if self.scored else None

    @property
    def conversion(self) -> float | None:
        """Calls that ended in a booked meeting, as a share of all calls."""
        return self.meetings / self.calls if self.calls else None


def _totals(db: Session, call_ids: list[int]) -> dict[int, int]:
    """The newest scorecard's total of each call that has one."""
    if not call_ids:
        return {}
    newest = (select(Scorecard.call_id, func.max(Scorecard.id).label("sid"))
              .where(Scorecard.call_id.in_(call_ids)).group_by(Scorecard.call_id).subquery())
    rows = db.execute(select(Scorecard.call_id, Scorecard.total).join(newest, Scorecard.id == newest.c.sid))
    return {int(cid): int(total) for cid, total in rows}


def _outcome(call: Call) -> str | None:
    value = (call.state or {}).get("outcome")
    return str(value) if value else None


def scored_calls(db: Session, user: User, persona_id: str | None = None) -> list[ScoredCall]:
    """The user's scored calls, oldest first (optionally with one persona only)."""
    query = select(Call).where(Call.user_id == user.id)
    if persona_id is not None:
        query = query.where(Call.persona_id == persona_id)
    calls = list(db.scalars(query.order_by(Call.started_at, Call.id)))
    totals = _totals(db, [c.id for c in calls])
    return [ScoredCall(c.id, c.persona_id, c.started_at, totals[c.id], _outcome(c), c.mode)
            for c in calls if c.id in totals]


def progress_of(db: Session, user: User) -> Progress:
    calls = list(db.scalars(select(Call).where(Call.user_id == user.id).order_by(Call.started_at, Call.id)))
    totals = _totals(db, [c.id for c in calls])
    out = Progress(calls=len(calls))
    stats: dict[str, PersonaStats] = {}
    for c in calls:
        row = stats.setdefault(c.persona_id, PersonaStats(c.persona_id))
        row.calls += 1
        booked = _outcome(c) == "meeting_booked"
        out.meetings += booked
        row.meetings += booked
        if c.id in totals:
            total = totals[c.id]
            out.scored.append(ScoredCall(c.id, c.persona_id, c.started_at, total, _outcome(c), c.mode))
            row.best = total if row.best is None else max(row.best, total)
            row.last = total
    out.per_persona = sorted(stats.values(), key=lambda s: (-s.calls, s.persona_id))
    counted = db.execute(
        select(Turn.label, func.count()).join(Call, Turn.call_id == Call.id)
        .where(Call.user_id == user.id, Turn.role == "trainee",
               or_(Call.branched_at.is_(None), Turn.index >= Call.branched_at))  # copied turns count once
        .group_by(Turn.label))
    by_label = {str(label): int(n) for label, n in counted if label}
    out.mix = {label.value: by_label.get(label.value, 0) for label in SPIN_ORDER}
    return out
