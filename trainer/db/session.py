"""Engine and session factory. SQLite gets WAL and foreign keys on every connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from trainer.db.gate import WriterGate


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine; for a SQLite file, make sure its folder exists and set the pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", MAX_OVERFLOW)
        engine = create_engine(url, **kwargs)
        name = parsed.database or ""
        file_db = bool(name) and name != ":memory:" and not name.startswith("file:")
        gate = WriterGate(Path(f"{name}.lock") if file_db else None)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "commit", gate.end)
        event.listen(engine, "rollback", gate.end)
        event.listen(engine, "checkin", gate.checkin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    return create_engine(url, **kwargs)


# Requests holding a session are capped below this (see trainer.web.deps), so the pool never runs dry
# while the worker threads that would give connections back are all waiting for one.
POOL_SIZE = 20
MAX_OVERFLOW = 20


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver's own BEGIN is replaced by WriterGate.begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit once at the end, roll back on any error (CLI and background use)."""
    session = factory()
    try:
        yield session
    except BaseException:
        rollback_and_close(session)
        raise
    commit_and_close(session)


def commit_and_close(session: Session) -> None:
    """Commit, or roll back if the commit fails; close either way (the web layer does both in one thread hop)."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()
