"""Engine and session factory. SQLite gets WAL and foreign keys on every connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


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
        gate = WriterGate()
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


GATE_TIMEOUT_S = 30.0
_HELD = "spin_writer_gate"


class WriterGate:
    """One SQLite transaction at a time in this process, queued on a lock rather than on SQLite's busy
    handler.

    Every transaction takes SQLite's write lock when it starts (`BEGIN IMMEDIATE`), not at its first
    write: a transaction that read first and wrote later would otherwise fail with "database is locked"
    under concurrency instead of waiting its turn (busy_timeout only helps at BEGIN). Waiting inside
    SQLite means sleeping in its busy handler's steps (up to 100 ms each), so under load transactions
    queued there for seconds while the lock sat free; a thread waiting here is woken the moment the
    holder commits. Other processes on the same file still meet SQLite's own busy_timeout.
    """

    def __init__(self, timeout_s: float = GATE_TIMEOUT_S) -> None:
        self._lock = threading.Lock()
        self.timeout_s = timeout_s

    def begin(self, conn: Any) -> None:
        info = conn.info  # the pooled DBAPI connection's own dict, shared with the pool's record
        if not info.get(_HELD):
            if not self._lock.acquire(timeout=self.timeout_s):
                raise TimeoutError(f"the database stayed busy for {self.timeout_s:.0f} s; try again")
            info[_HELD] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(info)
            raise

    def end(self, conn: Any) -> None:
        self._release(conn.info)

    def checkin(self, _dbapi_conn: Any, record: Any) -> None:
        """A connection back in the pool holds no transaction: never let it keep the gate."""
        self._release(record.info)

    def _release(self, info: dict[str, Any]) -> None:
        if info.pop(_HELD, False):
            self._lock.release()


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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
