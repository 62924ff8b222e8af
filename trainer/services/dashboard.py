"""Team numbers for managers: calls per day, meetings, conversion, average score, SPIN mix, leaderboard.

Only trainees' calls count (a trainer's preview call is not team practice). A meeting is a call
whose director state ended with `meeting_booked`; conversion is meetings / calls. Days are UTC.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trainer.db.models import Call, User
from trainer.services.review import latest_cards

SPIN_KEYS = ("situation", "problem", "implication", "need_payoff")
LEADERBOARD_DAYS = 7


@dataclass(frozen=True)
class Day:
    day: date
    calls: int
    meetings: int


@dataclass(frozen=True)
class Leader:
    name: str
    calls: int
    meetings: int
    average: float | None
    best: int | None

    @property
    def conversion(self) -> float | None:
        return self.meetings / self.calls if self.calls else None


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    days: list[Day]
    calls: int
    meetings: int
    average: float | None
    mix: list[tuple[str, dict[str, int]]]  # trainee -> SPIN question counts
    leaders: list[Leader]

    @property
    def conversion(self) -> float | None:
        return self.meetings / self.calls if self.calls else None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _met(call: Call) -> bool:
    return (call.state or {}).get("outcome") == "meeting_booked"


def trainee_calls(db: Session, start: date, end: date) -> list[Call]:
    return list(db.scalars(
        select(Call).join(User, User.id == Call.user_id)
        .where(User.role == "trainee", Call.started_at >= _day_start(start),
               Call.started_at < _day_start(end + timedelta(days=1)))
        .order_by(Call.started_at, Call.id)))


def build(db: Session, today: date, days: int = 14) -> Dashboard:
    """The dashboard for the `days` days ending `today` (inclusive); the leaderboard covers the last 7."""
    days = max(1, min(days, 366))
    start = today - timedelta(days=days - 1)
    calls = trainee_calls(db, min(start, today - timedelta(days=LEADERBOARD_DAYS - 1)), today)
    cards = latest_cards(db, [c.id for c in calls])
    in_range = [c for c in calls if c.started_at.date() >= start]
    per_day: dict[date, list[Call]] = {start + timedelta(days=i): [] for i in range(days)}
    for call in in_range:
        per_day.setdefault(call.started_at.date(), []).append(call)
    series = [Day(d, len(cs), sum(1 for c in cs if _met(c))) for d, cs in sorted(per_day.items())]
    scores = [cards[c.id].total for c in in_range if c.id in cards]
    mix: dict[str, Counter[str]] = {}
    for call in in_range:
        counter = mix.setdefault(call.user.name, Counter())
        counter.update(t.label for t in call.turns if t.role == "trainee" and t.label in SPIN_KEYS)
    week_start = today - timedelta(days=LEADERBOARD_DAYS - 1)
    week = [c for c in calls if c.started_at.date() >= week_start]
    return Dashboard(start=start, end=today, days=series, calls=len(in_range),
                     meetings=sum(1 for c in in_range if _met(c)),
                     average=round(sum(scores) / len(scores), 1) if scores else None,
                     mix=[(name, {k: counter.get(k, 0) for k in SPIN_KEYS}) for name, counter in sorted(mix.items())],
                     leaders=leaderboard(week, {cid: card.total for cid, card in cards.items()}))


def leaderboard(calls: list[Call], totals: dict[int, int]) -> list[Leader]:
    """Trainees ranked by meetings booked, then average score, then name (a stable order)."""
    by_user: dict[str, list[Call]] = {}
    for call in calls:
        by_user.setdefault(call.user.name, []).append(call)
    out = []
    for name, cs in by_user.items():
        scored = [totals[c.id] for c in cs if c.id in totals]
        out.append(Leader(name, len(cs), sum(1 for c in cs if _met(c)),
                          round(sum(scored) / len(scored), 1) if scored else None, max(scored) if scored else None))
    return sorted(out, key=lambda r: (-r.meetings, -(r.average or 0.0), r.name))
