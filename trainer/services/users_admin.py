"""Accounts as an admin manages them: add, invite with a one-time link, reset a password, deactivate.

An invite stores only the SHA-256 of its token (like the setup link); the link works once and
expires. A deactivated user cannot sign in and their sessions and API tokens stop working
(accounts checks `User.active` on every request); their calls stay for the team's records.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from trainer.db.base import utcnow
from trainer.db.models import ROLES, ApiToken, Invite, User, WebSession
from trainer.services import audit
from trainer.services.accounts import AccountError, create_user, get_user, validate_name
from trainer.services.secrets import check_password_rules, digest, hash_password

INVITE_DAYS = 7


class UsersError(ValueError):
    def __init__(self, key: str, detail: str = "", status: int = 422) -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail
        self.status = status



def all_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.role, User.name)))


def add(db: Session, admin: User, name: str, role: str, password: str) -> User:
    try:
        user = create_user(db, name, role, password)
    except AccountError as exc:
        raise UsersError("m_err_account", str(exc)) from None
    audit.record(db, admin, "user.add", user.name, {"role": user.role})
    return user


def pending_invites(db: Session) -> list[Invite]:
    now = utcnow()
    rows = db.scalars(select(Invite).where(Invite.used_at.is_(None)).order_by(Invite.created_at.desc()))
    return [r for r in rows if r.expires_at > now]


def invite(db: Session, admin: User, name: str, role: str) -> str:
    """A one-time token for `name` in `role`; the caller shows the link once, only its digest is kept."""
    try:
        cleaned = validate_name(name)
    except AccountError as exc:
        raise UsersError("m_err_account", str(exc)) from None
    if role not in ROLES:
        raise UsersError("m_err_role", role)
    if get_user(db, cleaned) is not None or any(i.name == cleaned for i in pending_invites(db)):
        raise UsersError("m_err_name_taken", cleaned)
    token = secrets.token_urlsafe(24)
    db.add(Invite(token_hash=digest(token), name=cleaned, role=role, created_by=admin.id,
                  expires_at=utcnow() + timedelta(days=INVITE_DAYS)))
    db.flush()
    audit.record(db, admin, "user.invite", cleaned, {"role": role})
    return token


def open_invite(db: Session, token: str) -> Invite | None:
    """The invite behind a token if it is unused and not expired."""
    if not token:
        return None
    row = db.scalar(select(Invite).where(Invite.token_hash == digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def accept_invite(db: Session, token: str, password: str) -> User:
    row = open_invite(db, token)
    if row is None:
        raise UsersError("m_invite_invalid", status=403)
    try:
        user = create_user(db, row.name, row.role, password)
    except AccountError as exc:
        raise UsersError("m_err_account", str(exc)) from None
    row.used_at = utcnow()
    audit.record(db, user, "user.invite_accepted", user.name, {"role": user.role})
    return user


def _target(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise UsersError("m_err_no_user", str(user_id), status=404)
    return user


def reset_password(db: Session, admin: User, user_id: int, password: str) -> User:
    user = _target(db, user_id)
    problem = check_password_rules(password)
    if problem:
        raise UsersError("m_err_account", problem)
    user.password_hash = hash_password(password)
    if user.id != admin.id:
        db.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(db, admin, "user.reset_password", user.name)
    return user


def set_active(db: Session, admin: User, user_id: int, active: bool) -> User:
    """Deactivate (sessions deleted, tokens revoked) or reactivate a user; nobody deactivates themselves."""
    user = _target(db, user_id)
    if user.id == admin.id and not active:
        raise UsersError("m_err_self_deactivate")
    if user.active == active:
        return user
    user.active = active
    if not active:
        db.execute(delete(WebSession).where(WebSession.user_id == user.id))
        db.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                   .values(revoked_at=utcnow()))
    audit.record(db, admin, "user.activate" if active else "user.deactivate", user.name)
    return user

