"""The audit log: every change a trainer or admin makes is written here (who, what, when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db.models import AuditEntry, User


def record(db: Session, user: User | None, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction, so the change and its record commit together."""
    entry = AuditEntry(user_id=user.id if user else None, action=action[:64], target=target[:200],
                       detail=detail or {})
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    user: str | None
    action: str
    target: str
    detail: dict[str, Any]


def recent(db: Session, limit: int = 100, offset: int = 0, action: str = "") -> tuple[list[AuditRow], int]:
    """Newest first, with the user's name (None once the user is gone); `action` filters by prefix."""
    query = select(AuditEntry, User.name).outerjoin(User, User.id == AuditEntry.user_id)
    count = select(func.count()).select_from(AuditEntry)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
        count = count.where(AuditEntry.action.startswith(action))
    rows = db.execute(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset))
    out = [AuditRow(e.id, e.at, name, e.action, e.target, dict(e.detail or {})) for e, name in rows]
    return out, int(db.scalar(count) or 0)


def actions(db: Session) -> list[str]:
    return sorted(db.scalars(select(AuditEntry.action).distinct()))
