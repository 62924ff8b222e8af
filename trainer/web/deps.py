"""Request dependencies as `Annotated` aliases: the DB session, the caller, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from trainer.db.models import User
from trainer.db.session import begin_read, commit_and_close, end_reads, rollback_and_close
from trainer.scoring.rubric import Rubric
from trainer.services import accounts
from trainer.services.rubric_admin import current_rubric
from trainer.services.secrets import same
from trainer.web.context import AppContext

SESSION_COOKIE = "spin_session"
CSRF_HEADER = "X-CSRF-Token"


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


async def get_db(ctx: Ctx) -> AsyncIterator[Session]:
    """One session per request: commit when the handler returns, roll back on any error.

    At most `Settings.effective_db_concurrency` requests hold a session at once: a request waits here,
    on the event loop, rather than in a worker thread, so threads never all sit waiting for pool
    connections that other requests, themselves waiting for a thread, are holding.
    """
    async with ctx.db_slots:
        session = ctx.sessions()
        try:
            yield session
        except BaseException:
            await run_in_threadpool(rollback_and_close, session)
            raise
        if session.in_transaction():
            await run_in_threadpool(commit_and_close, session)
        else:  # the handler committed in its own thread (see `commit_here`): closing does no I/O
            session.close()


def commit_here(db: Session) -> None:
    """Commit at the end of a sync handler, in its worker thread, instead of one more thread hop later.

    On SQLite the transaction is the single writer's: committed here, it is not held while the event
    loop gets round to the session's teardown (under load, many milliseconds). `get_db` then only closes.
    """
    db.commit()


DB = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling and how: a bearer token needs no CSRF token, a browser session does."""

    user: User
    via: str  # "token" | "session"
    csrf_token: str | None = None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def optional_principal(request: Request, db: DB) -> Principal | None:
    token = _bearer(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if token is None and not cookie:
        return None
    # A lookup only: on SQLite its transaction neither waits for nor holds the writer's place, and it
    # ends here, in this thread, whatever the outcome; the handler's own transaction starts afresh.
    begin_read(db)
    try:
        return _lookup(db, token, cookie)
    finally:
        end_reads(db)


def _lookup(db: Session, token: str | None, cookie: str | None) -> Principal | None:
    if token is not None:
        user = accounts.user_for_token(db, token)
        if user is None:
            raise HTTPException(401, "the bearer token is unknown or revoked; create one with "
                                     "`spin-trainer tokens create NAME`",
                                headers={"WWW-Authenticate": "Bearer"})
        return Principal(user=user, via="token")
    if cookie:
        row = accounts.session_for_cookie(db, cookie)
        if row is not None:
            return Principal(user=row.user, via="session", csrf_token=row.csrf_token)
    return None


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def require_principal(principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise HTTPException(401, "sign in first, or send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


Auth = Annotated[Principal, Depends(require_principal)]


async def require_csrf(request: Request, principal: Auth) -> Principal:
    """State-changing API calls from a browser session must echo the session's CSRF token."""
    if principal.via == "session":
        sent = request.headers.get(CSRF_HEADER, "")
        if not principal.csrf_token or not sent or not same(sent, principal.csrf_token):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header; reload the page and try again")
    return principal


AuthWrite = Annotated[Principal, Depends(require_csrf)]


def get_rubric(ctx: Ctx, db: DB) -> Rubric:
    """The rubric new scorecards use: the newest version trainers saved, else the file's."""
    return current_rubric(db, ctx.rubric)


CurrentRubric = Annotated[Rubric, Depends(get_rubric)]
