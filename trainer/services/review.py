"""Transcripts for trainers: filtered call lists, exports, turn comments, label corrections, agreement.

A correction sits beside the classifier's label (the turn is never edited). Agreement compares,
for every corrected trainee turn, the newest correction with what the classifier said: the share
that match, per label, and Cohen's kappa (chance-corrected agreement).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trainer.db.base import utcnow
from trainer.db.models import Call, LabelCorrection, Scorecard, Turn, TurnComment, User
from trainer.personas.state import OUTCOMES
from trainer.services import audit
from trainer.spin.labels import LANGS, Label

MAX_ROWS = 1000
MAX_NOTE = 2000


class ReviewError(ValueError):
    def __init__(self, key: str, status: int = 422) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


@dataclass(frozen=True)
class CallFilter:
    trainee: str = ""
    persona: str = ""
    date_from: date | None = None
    date_to: date | None = None
    score_min: int | None = None
    score_max: int | None = None
    outcome: str = ""
    lang: str = ""

    def query(self) -> dict[str, str]:
        """The filter as query-string pairs (for export links that keep the same selection)."""
        out = {"trainee": self.trainee, "persona": self.persona,
               "date_from": self.date_from.isoformat() if self.date_from else "",
               "date_to": self.date_to.isoformat() if self.date_to else "",
               "score_min": "" if self.score_min is None else str(self.score_min),
               "score_max": "" if self.score_max is None else str(self.score_max),
               "outcome": self.outcome, "lang": self.lang}
        return {k: v for k, v in out.items() if v}


def parse_filter(raw: dict[str, str]) -> tuple[CallFilter, list[str]]:
    """Read filter fields from a query string; bad values are dropped and named in the second list."""
    bad: list[str] = []

    def day(name: str) -> date | None:
        value = raw.get(name, "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            bad.append(name)
            return None

    def number(name: str) -> int | None:
        value = raw.get(name, "").strip()
        if not value:
            return None
        try:
            return max(0, min(100, int(value)))
        except ValueError:
            bad.append(name)
            return None

    lang = raw.get("lang", "").strip()
    if lang and lang not in LANGS:
        bad.append("lang")
        lang = ""
    return CallFilter(trainee=raw.get("trainee", "").strip(), persona=raw.get("persona", "").strip(),
                      date_from=day("date_from"), date_to=day("date_to"), score_min=number("score_min"),
                      score_max=number("score_max"), outcome=raw.get("outcome", "").strip(), lang=lang), bad


@dataclass(frozen=True)
class CallRow:
    id: int
    user: str
    persona: str
    persona_version: int
    lang: str
    mode: str
    started_at: datetime
    ended_at: datetime | None
    turns: int
    questions: dict[str, int]
    outcome: str
    total: int | None
    passed: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "persona": self.persona, "persona_version": self.persona_version,
                "lang": self.lang, "mode": self.mode, "started_at": self.started_at.isoformat(),
                "ended_at": self.ended_at.isoformat() if self.ended_at else None, "turns": self.turns,
                "situation": self.questions.get("situation", 0), "problem": self.questions.get("problem", 0),
                "implication": self.questions.get("implication", 0),
                "need_payoff": self.questions.get("need_payoff", 0),
                "outcome": self.outcome, "total": self.total, "passed": self.passed}


CSV_FIELDS = ("id", "user", "persona", "persona_version", "lang", "mode", "started_at", "ended_at", "turns",
              "situation", "problem", "implication", "need_payoff", "outcome", "total", "passed")


def latest_cards(db: Session, call_ids: list[int]) -> dict[int, Scorecard]:
    out: dict[int, Scorecard] = {}
    if not call_ids:
        return out
    for card in db.scalars(select(Scorecard).where(Scorecard.call_id.in_(call_ids)).order_by(Scorecard.id)):
        out[card.call_id] = card  # the newest wins
    return out


def outcome_of(call: Call) -> str:
    return str((call.state or {}).get("outcome") or ("" if call.ended else "in_progress"))


def find_calls(db: Session, flt: CallFilter, limit: int = MAX_ROWS) -> list[CallRow]:
    """Calls matching the filter, newest first. Score and outcome are read from each call's newest data."""
    query = select(Call).join(User, User.id == Call.user_id)
    if flt.trainee:
        query = query.where(User.name == flt.trainee)
    if flt.persona:
        query = query.where(Call.persona_id == flt.persona)
    if flt.lang:
        query = query.where(Call.lang == flt.lang)
    if flt.date_from:
        query = query.where(Call.started_at >= datetime.combine(flt.date_from, time.min, tzinfo=utcnow().tzinfo))
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), time.min, tzinfo=utcnow().tzinfo)
        query = query.where(Call.started_at < end)
    calls = list(db.scalars(query.order_by(Call.started_at.desc(), Call.id.desc())))
    cards = latest_cards(db, [c.id for c in calls])
    rows = []
    for call in calls:
        card = cards.get(call.id)
        total = card.total if card else None
        outcome = outcome_of(call)
        if flt.outcome and outcome != flt.outcome:
            continue
        if flt.score_min is not None and (total is None or total < flt.score_min):
            continue
        if flt.score_max is not None and (total is None or total > flt.score_max):
            continue
        spin = Counter(t.label for t in call.turns if t.role == "trainee" and t.label)
        rows.append(CallRow(call.id, call.user.name, call.persona_id, call.persona_version.version, call.lang,
                            call.mode, call.started_at, call.ended_at, len(call.turns),
                            {k: spin.get(k, 0) for k in ("situation", "problem", "implication", "need_payoff")},
                            outcome, total, bool(card.data.get("passed")) if card else None))
        if len(rows) >= limit:
            break
    return rows


def to_csv(rows: list[CallRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        data = row.to_dict()
        writer.writerow({k: _csv_safe(data[k]) for k in CSV_FIELDS})
    return buf.getvalue()


def _csv_safe(value: Any) -> Any:
    """Text starting with = + - @ is a formula to a spreadsheet; prefix it so it stays text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def filter_choices(db: Session) -> dict[str, list[str]]:
    """Values the filter selects offer: trainees with calls, personas with calls, outcomes seen."""
    users = sorted(set(db.scalars(select(User.name).join(Call, Call.user_id == User.id))))
    personas = sorted(set(db.scalars(select(Call.persona_id))))
    return {"trainees": users, "personas": personas, "outcomes": [*OUTCOMES, "in_progress"]}


# --- comments and corrections on one call ----------------------------------------------------
@dataclass
class TurnNotes:
    comments: list[tuple[TurnComment, str | None]] = field(default_factory=list)
    corrections: list[tuple[LabelCorrection, str | None]] = field(default_factory=list)


def notes_for(db: Session, call: Call) -> dict[int, TurnNotes]:
    """Comments and corrections keyed by turn index, oldest first, each with its author's name."""
    by_id = {t.id: t.index for t in call.turns}
    out: dict[int, TurnNotes] = {}
    ids = list(by_id)
    if not ids:
        return out
    for c, name in db.execute(select(TurnComment, User.name).outerjoin(User, User.id == TurnComment.user_id)
                              .where(TurnComment.turn_id.in_(ids)).order_by(TurnComment.id)):
        out.setdefault(by_id[c.turn_id], TurnNotes()).comments.append((c, name))
    for k, name in db.execute(select(LabelCorrection, User.name)
                              .outerjoin(User, User.id == LabelCorrection.user_id)
                              .where(LabelCorrection.turn_id.in_(ids)).order_by(LabelCorrection.id)):
        out.setdefault(by_id[k.turn_id], TurnNotes()).corrections.append((k, name))
    return out


def _turn(call: Call, index: int) -> Turn:
    turn = next((t for t in call.turns if t.index == index), None)
    if turn is None:
        raise ReviewError("m_err_no_turn", 404)
    return turn


def comment(db: Session, user: User, call: Call, index: int, text: str) -> TurnComment:
    cleaned = text.strip()
    if not cleaned:
        raise ReviewError("m_err_empty_comment")
    if len(cleaned) > MAX_NOTE:
        raise ReviewError("m_err_long_comment")
    turn = _turn(call, index)
    row = TurnComment(turn_id=turn.id, user_id=user.id, text=cleaned)
    db.add(row)
    db.flush()
    audit.record(db, user, "call.comment", f"call {call.id} turn {index}", {"text": cleaned[:200]})
    return row


def correct(db: Session, user: User, call: Call, index: int, label: str, note: str = "") -> LabelCorrection:
    """A trainer's label for a trainee turn (the same label as the classifier confirms it)."""
    try:
        chosen = Label(label)
    except ValueError:
        raise ReviewError("m_err_bad_label") from None
    turn = _turn(call, index)
    if turn.role != "trainee":
        raise ReviewError("m_err_not_trainee_turn")
    row = LabelCorrection(turn_id=turn.id, user_id=user.id, label=chosen.value, note=note.strip()[:MAX_NOTE])
    db.add(row)
    db.flush()
    audit.record(db, user, "call.label", f"call {call.id} turn {index}",
                 {"classifier": turn.label, "trainer": chosen.value})
    return row


# --- agreement -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelAgreement:
    label: str
    classifier: int  # corrected turns the classifier gave this label
    trainer: int  # corrected turns the trainers gave this label
    both: int  # turns where both said this label

    @property
    def share(self) -> float | None:
        """Of the turns the classifier gave this label, the share trainers kept."""
        return self.both / self.classifier if self.classifier else None


@dataclass(frozen=True)
class Agreement:
    turns: int
    agreed: int
    kappa: float | None
    labels: list[LabelAgreement]
    confusions: list[tuple[str, str, int]]  # (classifier, trainer, count) where they differ

    @property
    def share(self) -> float | None:
        return self.agreed / self.turns if self.turns else None


def agreement(db: Session) -> Agreement:
    """Classifier vs trainers over every corrected trainee turn (the newest correction of each turn)."""
    newest: dict[int, tuple[str, str]] = {}
    rows = db.execute(select(LabelCorrection.turn_id, LabelCorrection.label, Turn.label)
                      .join(Turn, Turn.id == LabelCorrection.turn_id).order_by(LabelCorrection.id))
    for turn_id, trainer_label, classifier_label in rows:
        newest[turn_id] = (classifier_label or Label.OTHER.value, trainer_label)
    return agreement_of(list(newest.values()))


def agreement_of(pairs: list[tuple[str, str]]) -> Agreement:
    """Agreement of (classifier, trainer) label pairs; kappa is None when chance agreement is total."""
    n = len(pairs)
    agreed = sum(1 for a, b in pairs if a == b)
    by_classifier = Counter(a for a, _ in pairs)
    by_trainer = Counter(b for _, b in pairs)
    kappa = None
    if n:
        expected = sum(by_classifier[k] * by_trainer[k] for k in by_classifier) / (n * n)
        if expected < 1:
            kappa = round((agreed / n - expected) / (1 - expected), 3)
    labels = [LabelAgreement(lb.value, by_classifier[lb.value], by_trainer[lb.value],
                             sum(1 for a, b in pairs if a == b == lb.value))
              for lb in Label if by_classifier[lb.value] or by_trainer[lb.value]]
    confusions = Counter((a, b) for a, b in pairs if a != b)
    return Agreement(n, agreed, kappa, labels,
                     sorted(((a, b, c) for (a, b), c in confusions.items()), key=lambda x: (-x[2], x[0], x[1])))
