"""Personal data: everything a user can take away with them, and removing a user for good."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db.base import utcnow
from trainer.db.models import ApiToken, AuditEntry, Call, LabelCorrection, Scorecard, TurnComment, User
from trainer.services.accounts import AccountError


def export_user(db: Session, user: User, call_json: Any) -> dict[str, Any]:
    """All data held about `user`: account, tokens (never the secrets), calls with every scorecard,
    and the comments and label corrections they wrote."""
    calls = list(db.scalars(select(Call).where(Call.user_id == user.id).order_by(Call.id)))
    out_calls = []
    for call in calls:
        item = call_json(call, None)
        item["scorecards"] = [
            {"rubric": {"id": c.rubric_id, "version": c.rubric_version}, "scorer_version": c.scorer_version,
             "created_at": c.created_at.isoformat(), "data": c.data}
            for c in db.scalars(select(Scorecard).where(Scorecard.call_id == call.id).order_by(Scorecard.id))
        ]
        item.pop("scorecard", None)
        out_calls.append(item)
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    comments = db.scalars(select(TurnComment).where(TurnComment.user_id == user.id).order_by(TurnComment.id))
    corrections = db.scalars(select(LabelCorrection).where(LabelCorrection.user_id == user.id)
                             .order_by(LabelCorrection.id))
    return {
        "exported_at": utcnow().isoformat(),
        "user": {"name": user.name, "role": user.role, "active": user.active,
                 "created_at": user.created_at.isoformat()},
        "api_tokens": [{"label": t.label, "created_at": t.created_at.isoformat(),
                        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                        "revoked": t.revoked_at is not None} for t in tokens],
        "calls": out_calls,
        "comments_written": [{"turn_id": c.turn_id, "text": c.text, "created_at": c.created_at.isoformat()}
                             for c in comments],
        "label_corrections_written": [{"turn_id": c.turn_id, "label": c.label, "note": c.note,
                                       "created_at": c.created_at.isoformat()} for c in corrections],
    }


def delete_user(db: Session, actor: User, name: str) -> dict[str, Any]:
    """Remove a user with their calls, turns and scorecards; the audit log keeps who did it."""
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user named {name!r}")
    if user.role == "admin":
        admins = db.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active))
        if (admins or 0) <= 1:
            raise AccountError("this is the last admin; make another admin before deleting this one")
    calls = db.scalar(select(func.count()).select_from(Call).where(Call.user_id == user.id)) or 0
    summary = {"user": user.name, "role": user.role, "calls_deleted": int(calls)}
    db.add(AuditEntry(user_id=actor.id if actor.id != user.id else None, action="user.delete",
                      target=f"user:{user.name}", detail=summary))
    db.delete(user)
    db.flush()
    return summary
