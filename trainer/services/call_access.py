"""Which call a user may read or speak in, the lines-a-minute limit on speaking, and the calls a user sees.

Reads only; each runs in the caller's transaction. A 404 never tells a trainee that another's call exists.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db import statements
from trainer.db.base import utcnow
from trainer.db.models import Call, User
from trainer.services.calls import CallError, replayed

RATE_WINDOW_S = 60


def check_turn_rate(db: Session, user: User, per_minute: int) -> None:
    """Refuse a trainee line past `per_minute` lines in the last minute (counted in the database,
    so the limit holds across workers and instances)."""
    if per_minute <= 0:
        return
    since = utcnow() - timedelta(seconds=RATE_WINDOW_S)
    recent = list(db.scalars(statements.recent_trainee_lines(),
                             {"user_id": user.id, "since": since, "most": per_minute}))
    if len(recent) >= per_minute:
        oldest = recent[-1]
        wait = max(1, int((oldest + timedelta(seconds=RATE_WINDOW_S) - utcnow()).total_seconds()) + 1)
        raise CallError(429, f"more than {per_minute} lines a minute; wait {wait} s and send again",
                        headers={"Retry-After": str(wait)})



def get_call_for(db: Session, user: User, call_id: int) -> Call:
    """The call if this user may see it; 404 otherwise (also for another trainee's call)."""
    # The call's user is not joined in: it is only compared by id here, and a page that shows it finds
    # the signed-in user in the session's identity map or loads it then. The turns are joined in: every
    # caller reads them, and on PostgreSQL the separate query `selectin` made was one more round trip.
    call = db.scalars(statements.call_with_turns(), {"call_id": call_id}).unique().one_or_none()
    if call is None or (call.user_id != user.id and not user.sees_all_calls):
        raise CallError(404, f"no call {call_id} that you can see")
    return call


def call_to_speak_in(db: Session, user: User, call_id: int, per_minute: int,
                     request_key: str | None = None) -> Call:
    """The call `user` may say a line in: their own (404 for others' calls, 403 for a trainer reading
    one), within the turn rate limit unless this request repeats one already stored."""
    call = get_call_for(db, user, call_id)
    if call.user_id != user.id:
        raise CallError(403, "only the trainee who holds this call can speak in it")
    if replayed(db, call, request_key) is None:
        check_turn_rate(db, user, per_minute)
    return call


def list_calls(db: Session, user: User, limit: int, offset: int) -> tuple[list[Call], int]:
    query = select(Call)
    count = select(func.count()).select_from(Call)
    if not user.sees_all_calls:
        query = query.where(Call.user_id == user.id)
        count = count.where(Call.user_id == user.id)
    rows = db.scalars(query.order_by(Call.started_at.desc(), Call.id.desc()).limit(limit).offset(offset))
    return list(rows), int(db.scalar(count) or 0)
