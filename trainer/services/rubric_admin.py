"""Rubric versions edited in the app, the rubric new calls are scored with, and rescoring.

The file rubrics/spin.yaml is the starting point; a trainer's save becomes the next version
in `rubric_versions`, and `current_rubric` hands the newest one to the scorer. Scorecards are
never edited: rescoring adds a scorecard row that names the rubric version it used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db.models import Call, RubricVersion, User
from trainer.scoring.rubric import Rubric, RubricError, RubricProblem, parse_rubric
from trainer.scoring.scorer import score_call
from trainer.services import audit
from trainer.services.calls import check_lang, latest_scorecard, new_scorecard, scoring_turns

_VERSION_LINE = re.compile(r"^version:[^\n#]*", re.MULTILINE)
_ID_LINE = re.compile(r"^id:", re.MULTILINE)
PREVIEW_CALLS = 20


@lru_cache(maxsize=64)
def _parsed(row_id: int, text: str) -> Rubric:
    return parse_rubric(text, f"rubric version {row_id}")


def newest_row(db: Session, rubric_id: str) -> RubricVersion | None:
    return db.scalar(select(RubricVersion).where(RubricVersion.rubric_id == rubric_id)
                     .order_by(RubricVersion.version.desc()).limit(1))


def current_rubric(db: Session, default: Rubric) -> Rubric:
    """The newest saved version of the default rubric's id, or the default when none was saved."""
    row = newest_row(db, default.id)
    if row is None or row.version <= default.version:
        return default
    return _parsed(row.id, row.yaml_text)


def current_text(db: Session, default: Rubric, default_text: str) -> str:
    row = newest_row(db, default.id)
    return row.yaml_text if row is not None and row.version > default.version else default_text


def history(db: Session, rubric_id: str) -> list[RubricVersion]:
    return list(db.scalars(select(RubricVersion).where(RubricVersion.rubric_id == rubric_id)
                           .order_by(RubricVersion.version.desc())))


def next_version(db: Session, default: Rubric) -> int:
    stored = db.scalar(select(func.max(RubricVersion.version)).where(RubricVersion.rubric_id == default.id))
    return max(stored or 0, default.version) + 1


def validate(text: str, default: Rubric, version: int) -> tuple[Rubric, str]:
    """Parse the editor's text as `version` of the default rubric; the id may not change.

    Returns the rubric and the text with its `version:` line set, so what is stored is what scores.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip() + "\n"
    if _VERSION_LINE.search(text):
        text = _VERSION_LINE.sub(f"version: {version}", text, count=1)
    rubric = parse_rubric(text, "rubric")
    if rubric.id != default.id:
        line = next((i for i, ln in enumerate(text.splitlines(), 1) if _ID_LINE.match(ln)), 1)
        message = f"is {rubric.id!r}; this editor keeps the rubric id {default.id!r}"
        raise RubricError(f"rubric:{line}: id: {message}", (RubricProblem(line, "id", message),))
    return rubric, text


def save(db: Session, user: User, text: str, default: Rubric) -> RubricVersion:
    version = next_version(db, default)
    rubric, stored = validate(text, default, version)
    row = RubricVersion(rubric_id=rubric.id, version=version, yaml_text=stored, created_by=user.id)
    db.add(row)
    db.flush()
    audit.record(db, user, "rubric.save", f"{rubric.id} v{version}",
                 {"version": version, "pass_mark": rubric.pass_mark,
                  "weights": {c.id: c.weight for c in rubric.criteria}})
    return row


@dataclass(frozen=True)
class Rescored:
    call_id: int
    user: str
    persona: str
    lang: str
    old_total: int | None
    new_total: int
    old_passed: bool | None
    new_passed: bool

    @property
    def delta(self) -> int | None:
        return None if self.old_total is None else self.new_total - self.old_total


def recent_ended(db: Session, limit: int) -> list[Call]:
    return list(db.scalars(select(Call).where(Call.ended_at.is_not(None))
                           .order_by(Call.ended_at.desc(), Call.id.desc()).limit(limit)))


def preview(db: Session, rubric: Rubric, limit: int = PREVIEW_CALLS) -> list[Rescored]:
    """How the last ended calls would score under `rubric`, beside their latest stored scorecard."""
    out = []
    for call in recent_ended(db, limit):
        card = latest_scorecard(db, call)
        data = score_call(scoring_turns(call), rubric, check_lang(call.lang))
        out.append(Rescored(call.id, call.user.name, call.persona_id, call.lang,
                            card.total if card else None, int(data["total"]),
                            bool(card.data.get("passed")) if card else None, bool(data["passed"])))
    return out


def rescore(db: Session, user: User, rubric: Rubric, limit: int = PREVIEW_CALLS) -> int:
    """Add a scorecard under `rubric` to each recent ended call not yet scored with it; returns how many."""
    added = 0
    for call in recent_ended(db, limit):
        card = latest_scorecard(db, call)
        if card is not None and card.rubric_id == rubric.id and card.rubric_version == rubric.version:
            continue
        db.add(new_scorecard(call, rubric))
        added += 1
    db.flush()
    audit.record(db, user, "rubric.rescore", f"{rubric.id} v{rubric.version}", {"calls": added})
    return added
