"""Sign-in throttling kept in the database, so it holds across workers and instances.

An account is locked for a while after several failed passwords in a row; one
address that keeps failing, on any names, is slowed down the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db.base import utcnow
from trainer.db.models import SignInAttempt


@dataclass(frozen=True)
class Throttle:
    max_failures: int = 5  # failures in a row for one name before it is locked
    lockout_s: int = 15 * 60
    address_failures: int = 20  # failures from one address within the window, on any names
    window_s: int = 15 * 60


class SignInBlocked(Exception):
    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.reason = reason  # "locked" | "address"
        self.retry_after_s = retry_after_s



def check(db: Session, name: str, address: str, rules: Throttle) -> None:
    """Raise SignInBlocked when this name is locked or this address is over its limit."""
    now = utcnow()
    since = now - timedelta(seconds=rules.window_s)
    last_ok = db.scalar(select(func.max(SignInAttempt.at)).where(SignInAttempt.name == name, SignInAttempt.ok))
    start = max(since, last_ok) if last_ok else since
    failures = list(db.scalars(
        select(SignInAttempt.at).where(SignInAttempt.name == name, ~SignInAttempt.ok, SignInAttempt.at > start)
        .order_by(SignInAttempt.at.desc()).limit(rules.max_failures)))
    if len(failures) >= rules.max_failures:
        until = failures[0] + timedelta(seconds=rules.lockout_s)
        if until > now:
            raise SignInBlocked("locked", int((until - now).total_seconds()) + 1)
    if address:
        recent = db.scalar(select(func.count()).select_from(SignInAttempt).where(
            SignInAttempt.address == address, ~SignInAttempt.ok, SignInAttempt.at > since)) or 0
        if recent >= rules.address_failures:
            raise SignInBlocked("address", rules.window_s)


def record(db: Session, name: str, address: str, ok: bool) -> None:
    db.add(SignInAttempt(name=name[:80], address=address[:64], ok=ok))
    db.flush()
