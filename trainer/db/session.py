"""Engine and session factory. SQLite gets WAL and foreign keys on every connection."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from trainer.db.checkpoint import Checkpointer
from trainer.db.gate import READ_ONLY, WriterGate, refuse_writes_in_reads


def make_engine(url: str, *, ping_idle_s: float | None = None, **kwargs: Any) -> Engine:
    """Create the engine; for a SQLite file, make sure its folder exists and set the pragmas.

    A server database's pooled connections are pinged before use only after `ping_idle_s` idle
    (default `PING_IDLE_S`); `pool_pre_ping=True` pings every checkout instead.
    """
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
        gate = WriterGate(Path(f"{name}.lock") if file_db else None,
                          checkpointer=Checkpointer(Path(name)) if file_db else None)
        event.listen(engine, "connect", _sqlite_pragmas)
        if file_db:  # its checkpoints run beside the writers (trainer.db.checkpoint); elsewhere SQLite's own
            event.listen(engine, "connect", _no_autocheckpoint)
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "commit", gate.commit)
        event.listen(engine, "rollback", gate.rollback)
        event.listen(engine, "checkin", gate.checkin)
        event.listen(engine, "before_cursor_execute", refuse_writes_in_reads)
        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    engine = create_engine(url, **kwargs)
    # Reads run in the driver's autocommit there (`begin_read`): a write among them would be committed alone.
    event.listen(engine, "before_cursor_execute", refuse_writes_in_autocommit_reads)
    event.listen(engine, "checkin", _transactions_again)
    if kwargs.get("pool_pre_ping"):
        return engine
    event.listen(engine, "connect", _fresh)
    event.listen(engine, "checkin", _fresh)
    event.listen(engine, "checkout", _pinger(engine.dialect, PING_IDLE_S if ping_idle_s is None else ping_idle_s))
    return engine


# A pooled connection back from a request less than this long ago is handed out without a ping: under
# load that saves a round trip on every request; an idle one is pinged first, as `pool_pre_ping` would.
PING_IDLE_S = 1.0


def _fresh(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _pinger(dialect: Dialect, idle_s: float) -> Callable[[Any, Any, Any], None]:
    def ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """Pessimistic disconnect handling, only for connections that sat idle: a dead one is replaced
        (DisconnectionError makes the pool drop it and check out another), so a database restart costs
        no request an error once the pool has been idle a moment."""
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            alive = dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"the pooled connection is gone: {exc}") from exc
        if alive is False:
            raise DisconnectionError("the pooled connection did not answer a ping")

    return ping_if_idle


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


def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose every transaction begins as a read (`begin_read`): for requests that only read, such
    as a page. On SQLite they neither wait for nor hold the single writer's place, so a manager reading a
    dashboard does not hold up the trainees' lines; a write in them is refused (trainer.db.gate)."""
    return make_sessionmaker(engine.execution_options(**READ_ONLY))


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


def begin_read(session: Session) -> None:
    """Start the session's transaction as one that only reads; end it with `end_reads` before anything
    writes. On SQLite it takes no writer's place (see trainer.db.gate.READ_ONLY). On a server database
    its statements run in the driver's autocommit: under READ COMMITTED each statement reads a snapshot
    of its own anyway, and the BEGIN the driver sends before a transaction's first statement is a round
    trip (one of the three before a streamed turn's model was asked)."""
    if not session.in_transaction():
        conn = session.connection(execution_options=READ_ONLY)
        if conn.dialect.name != "sqlite":
            _driver(conn).autocommit = True


def end_reads(session: Session) -> bool:
    """End the reads `begin_read` began, in the thread that ran them; what follows is a writer's.

    On SQLite every transaction here is the single writer's (BEGIN IMMEDIATE, trainer.db.gate); a lookup
    whose transaction stayed open across the hop back to the event loop would keep every other writer
    waiting for as long as the loop takes to schedule the next step: it is committed. On a server
    database nothing is sent: the driver leaves autocommit, and its next statement begins a transaction.
    True when reads were ended: what they read may have changed since.
    """
    if not session.in_transaction() or session.in_nested_transaction() \
            or session.new or session.dirty or session.deleted:
        return False
    conn = session.connection()
    if not conn.get_execution_options().get("spin_read_only"):
        return False  # a writer's transaction: it ends when its owner commits
    if conn.dialect.name == "sqlite":
        session.commit()
        return True
    driver = _driver(conn)
    if not driver.autocommit:
        return False  # ended already, or a read session's transaction (trainer.web.deps.get_db ends it)
    driver.autocommit = False
    return True


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


@contextmanager
def autocommitted(conn: Connection) -> Iterator[Connection]:
    """A server database's connection whose statements each commit on their own (the driver's
    autocommit): for a write that is one statement, atomic by itself, no BEGIN and COMMIT round trips.
    Only between transactions (after `end_reads`, or on a connection that has run nothing yet)."""
    driver = _driver(conn)
    driver.autocommit = True
    try:
        yield conn
    finally:
        driver.autocommit = False


def _transactions_again(dbapi_conn: Any, _record: Any) -> None:
    """A connection back in the pool in autocommit (its request failed amid its reads) leaves it."""
    if dbapi_conn is not None and dbapi_conn.autocommit:
        dbapi_conn.autocommit = False


def refuse_writes_in_autocommit_reads(conn: Connection, cursor: Any, statement: str, *rest: Any) -> None:
    """`refuse_writes_in_reads` for a server database's reads, which run in autocommit (`begin_read`)."""
    if _driver(conn).autocommit and conn.get_execution_options().get("spin_read_only"):
        refuse_writes_in_reads(conn, cursor, statement, *rest)


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for a write that is a single statement, atomic on its own: on a server database
    `autocommitted`; on SQLite a writer's transaction, which takes the writer's place (trainer.db.gate)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn, autocommitted(conn):
        yield conn


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
