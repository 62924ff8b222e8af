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
from trainer.services.secrets import same
from trainer.web.context import AppContext

SESSION_COOKIE = "spin_session"
CSRF_HEADER = "X-CSRF-Token"


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


READING_METHODS = frozenset({"GET", "HEAD"})


async def get_db(request: Request, ctx: Ctx) -> AsyncIterator[Session]:
    """One session per request: commit when the handler returns, roll back on any error.

    A GET or HEAD request only reads: its session's transactions begin as reads
    (`trainer.db.session.make_read_sessionmaker`), which on SQLite take no writer's place.

    At most `Settings.effective_db_concurrency` requests hold a session at once: a request waits here,
    on the event loop, rather than in a worker thread, so threads never all sit waiting for pool
    connections that other requests, themselves waiting for a thread, are holding.
    """
    async with ctx.db_slots:
        session = (ctx.read_sessions if request.method in READING_METHODS else ctx.sessions)()
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


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request signs in with, read off its headers without the database."""

    token: str | None  # the bearer token
    cookie: str | None  # the browser session's cookie
    csrf_sent: str  # the X-CSRF-Token header ("" when absent)
    line_sent: bool = False  # the turn's line went to the encoder on arrival (trainer.web.api.early_caller)

    @property
    def absent(self) -> bool:
        """Neither a bearer token nor a session cookie: an anonymous request."""
        return self.token is None and not self.cookie


def credentials_of(request: Request) -> Credentials:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return Credentials(token=token, cookie=request.cookies.get(SESSION_COOKIE) or None,
                       csrf_sent=request.headers.get(CSRF_HEADER, ""))


def look_up(db: Session, creds: Credentials) -> Principal | None:
    """The signed-in caller, or None when the request carries no credentials (a bad token is a 401).

    A lookup only: on SQLite its transaction neither waits for nor holds the writer's place, and it
    ends here, in this thread, whatever the outcome; the caller's own transaction starts afresh. A
    transaction the caller already began (a turn begun as a read, `calls.begin_turn_read`) is the
    caller's: the lookup reads in it and leaves it open, one BEGIN and COMMIT fewer.
    """
    if creds.absent:
        return None
    if db.in_transaction():
        return _lookup(db, creds.token, creds.cookie)
    begin_read(db)
    try:
        return _lookup(db, creds.token, creds.cookie)
    finally:
        end_reads(db)


def optional_principal(request: Request, db: DB) -> Principal | None:
    return look_up(db, credentials_of(request))


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


def _required(principal: Principal | None) -> Principal:
    if principal is None:
        raise HTTPException(401, "sign in first, or send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def _csrf_checked(principal: Principal, sent: str) -> Principal:
    """State-changing API calls from a browser session must echo the session's CSRF token."""
    if principal.via == "session" and (not principal.csrf_token or not sent
                                       or not same(sent, principal.csrf_token)):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header; reload the page and try again")
    return principal


async def require_principal(principal: MaybePrincipal) -> Principal:
    return _required(principal)


Auth = Annotated[Principal, Depends(require_principal)]


async def require_csrf(request: Request, principal: Auth) -> Principal:
    return _csrf_checked(principal, request.headers.get(CSRF_HEADER, ""))


AuthWrite = Annotated[Principal, Depends(require_csrf)]


async def get_credentials(request: Request) -> Credentials:
    """401 at once when the request carries no credentials at all, as `Auth` answers (before the body
    is validated); a token or cookie is checked in the handler."""
    creds = credentials_of(request)
    if creds.absent:
        _required(None)
    return creds


Caller = Annotated[Credentials, Depends(get_credentials)]
"""For the turn routes: the caller's credentials, checked by `signed_in_writer` in the handler's thread.

`AuthWrite` looks the caller up in a worker thread of its own before the handler's: a hop to a thread
and back to the event loop that, under load, cost a turn a few milliseconds at the median and ten at
the 95th percentile, for a lookup of well under one.
"""


def signed_in_writer(db: Session, creds: Credentials) -> Principal:
    """What `AuthWrite` gives, looked up in the calling (worker) thread: 401 or 403 alike."""
    return _csrf_checked(_required(look_up(db, creds)), creds.csrf_sent)


def get_rubric(ctx: Ctx, db: DB) -> Rubric:
    """The rubric new scorecards use: the newest version trainers saved, else the file's.

    Read in a transaction begun as a read and ended here, in this dependency's own worker thread: begun
    as a writer's, on SQLite it held the single writer's place across the hop to the handler and until
    the request ended (the practice page asks for coaching after every line).
    """
    begin_read(db)
    try:
        return ctx.rubric_in_force(db)
    finally:
        end_reads(db)


CurrentRubric = Annotated[Rubric, Depends(get_rubric)]
