"""Users, API tokens, browser sessions and the one-time setup link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db import statements
from trainer.db.base import utcnow
from trainer.db.models import ROLES, ApiToken, SetupLink, User, WebSession
from trainer.services.secrets import check_password_rules, digest, hash_password, new_token, verify_password

MAX_NAME_LENGTH = 80


class AccountError(ValueError):
    """Bad account input; the message says what is wrong and how to fix it."""


def validate_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise AccountError("the user name is empty; give a name such as 'anna'")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise AccountError(f"the user name is longer than {MAX_NAME_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in cleaned):
        raise AccountError("the user name must be one word without spaces or control characters")
    return cleaned


def create_user(db: Session, name: str, role: str, password: str) -> User:
    name = validate_name(name)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    problem = check_password_rules(password)
    if problem:
        raise AccountError(problem)
    if db.scalar(select(User.id).where(User.name == name)) is not None:
        raise AccountError(f"a user named {name!r} already exists; pick another name")
    user = User(name=name, role=role, password_hash=hash_password(password), active=True)
    db.add(user)
    db.flush()
    return user


def user_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(User)) or 0)


def get_user(db: Session, name: str) -> User | None:
    return db.scalar(select(User).where(User.name == name))


def authenticate(db: Session, name: str, password: str) -> User | None:
    user = get_user(db, name.strip())
    if user is None or not user.active:
        # Spend the same time as a real check so that names cannot be probed by timing.
        verify_password(_dummy_hash(), password)
        return None
    return user if verify_password(user.password_hash, password) else None


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


# --- API tokens -------------------------------------------------------------------------
def create_token(db: Session, user: User, label: str = "") -> str:
    token = new_token()
    db.add(ApiToken(user_id=user.id, label=label[:80], token_hash=digest(token)))
    db.flush()
    return token


def user_for_token(db: Session, token: str) -> User | None:
    row = db.scalar(statements.live_token(), {"token_hash": digest(token)})
    if row is None or not row.user.active:
        return None
    return row.user


# --- browser sessions -------------------------------------------------------------------
@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    csrf_token: str


def create_session(db: Session, user: User, max_age_s: int) -> NewSession:
    key = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db.add(WebSession(key_hash=digest(key), user_id=user.id, csrf_token=csrf,
                      expires_at=utcnow() + timedelta(seconds=max_age_s)))
    db.flush()
    return NewSession(cookie_value=key, csrf_token=csrf)


def session_for_cookie(db: Session, cookie_value: str) -> WebSession | None:
    row = db.scalar(statements.web_session(), {"key_hash": digest(cookie_value)})
    if row is None:
        return None
    if row.expires_at < utcnow() or not row.user.active:
        return None
    return row


def delete_session(db: Session, cookie_value: str) -> None:
    row = db.scalar(select(WebSession).where(WebSession.key_hash == digest(cookie_value)))
    if row is not None:
        db.delete(row)


# --- first start --------------------------------------------------------------------------
def create_setup_link(db: Session) -> str:
    """A fresh one-time token for creating the first admin (earlier unused ones stay valid)."""
    token = secrets.token_urlsafe(24)
    db.add(SetupLink(token_hash=digest(token)))
    db.flush()
    return token


def setup_link_valid(db: Session, token: str) -> bool:
    row = db.scalar(select(SetupLink).where(SetupLink.token_hash == digest(token)))
    return row is not None and row.used_at is None and user_count(db) == 0


def consume_setup_link(db: Session, token: str, name: str, password: str) -> User:
    row = db.scalar(select(SetupLink).where(SetupLink.token_hash == digest(token)).with_for_update())
    if row is None or row.used_at is not None:
        raise AccountError("this setup link is not valid or was already used; restart the server for a new one")
    if user_count(db) > 0:
        raise AccountError("the first account already exists; sign in instead")
    user = create_user(db, name, "admin", password)
    row.used_at = utcnow()
    return user
