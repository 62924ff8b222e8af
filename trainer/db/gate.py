"""SQLite writers queue on the app's own locks instead of on SQLite's busy handler.

Every transaction takes SQLite's write lock when it starts (`BEGIN IMMEDIATE`), not at its first
write: a transaction that read first and wrote later would otherwise fail with "database is locked"
under concurrency instead of waiting its turn (busy_timeout only helps at BEGIN). Waiting inside
SQLite means sleeping in its busy handler's steps (up to 100 ms each), so under load transactions
queued there for seconds while the lock sat free. Here a thread waits on a lock of its process and
is woken the moment the holder commits; processes sharing the file (`serve --workers N`) take an
advisory lock on `<database>.lock` next, polled at most 2 ms apart. SQLite's own busy_timeout stays
as the last guard against any other writer (a CLI command, a backup).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from trainer.db.checkpoint import CHECKPOINT_EVERY, Checkpointer

try:
    import fcntl
except ImportError:  # Windows: one process per database file is the supported setup there
    fcntl = None  # type: ignore[assignment]

GATE_TIMEOUT_S = 30.0
#: Execution option of a transaction that only reads (`Session.connection(execution_options=READ_ONLY)`):
#: it begins deferred and takes no writer's place. A write inside it could meet "database is locked"
#: while another transaction writes, so only code that does not write sets it (trainer.db.session.begin_read).
READ_ONLY = {"spin_read_only": True}
_HELD = "spin_writer_gate"
_FILE = "spin_writer_gate_fd"


_READING = ("SELECT", "WITH", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "EXPLAIN")


class WriteInReadError(RuntimeError):
    """A statement that writes, sent in a transaction begun as a read: a bug in the code that sent it."""


def refuse_writes_in_reads(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    """SQLAlchemy's `before_cursor_execute`: refuse a write in a transaction begun as a read (`READ_ONLY`).

    Such a transaction began deferred and took no writer's place; its write would meet "database is
    locked" whenever another transaction had written since it began, that is under load only. Refused
    here, it fails every time, in tests first, and says where.
    """
    if conn.get_execution_options().get("spin_read_only") and not statement.lstrip()[:9].upper().startswith(
            _READING):
        raise WriteInReadError(f"a write in a transaction begun as a read: {statement[:80]!r}; end the reads "
                               "first (trainer.db.session.end_reads) or begin the transaction as a writer's")


class WriterGate:
    """One SQLite transaction at a time: across threads with a lock, across processes with a file lock."""

    def __init__(self, lock_path: Path | None = None, timeout_s: float = GATE_TIMEOUT_S,
                 checkpointer: Checkpointer | None = None) -> None:
        self._lock = threading.Lock()
        self.lock_path = lock_path if fcntl is not None else None
        self.timeout_s = timeout_s
        self.checkpointer = checkpointer  # asked every CHECKPOINT_EVERY commits (trainer.db.checkpoint)
        self._commits = 0

    def begin(self, conn: Any) -> None:
        if conn.get_execution_options().get("spin_read_only"):
            conn.exec_driver_sql("BEGIN")  # a reader in WAL mode neither waits for nor blocks the writer
            return
        info = conn.info  # the pooled DBAPI connection's own dict, shared with the pool's record
        if not info.get(_HELD):
            self._acquire(info)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(info)
            raise

    def end(self, conn: Any) -> None:
        """Let the next writer in (a transaction already ended)."""
        self._release(conn.info)

    def commit(self, conn: Any) -> None:
        """SQLAlchemy's `commit` event, which comes before the driver's COMMIT: a writer's transaction is
        committed here, then the gate released (the driver's own commit then finds nothing to end).
        Released first, the next writer's BEGIN IMMEDIATE could meet this COMMIT still running (the driver
        lets go of the GIL for it) and sleep in SQLite's busy handler, 1 ms, then 2, 5, ..., with the gate
        held: a fifth of the begins of four threads writing at once did. A COMMIT that fails keeps the
        gate until the rollback that follows it (or the connection's return to the pool). Held through the
        COMMIT, the gate would also be held through SQLite's automatic checkpoint: `checkpointer` does
        that work instead (trainer.db.checkpoint)."""
        if conn.info.get(_HELD):
            dbapi = conn.dialect.loaded_dbapi
            try:
                conn.connection.dbapi_connection.commit()
            except dbapi.Error as exc:
                raise DBAPIError.instance("COMMIT", None, exc, dbapi.Error) from exc
            self._commits += 1  # the gate is held: no other thread counts now
            checkpointer = self.checkpointer if self._commits % CHECKPOINT_EVERY == 0 else None
            self._release(conn.info)
            if checkpointer is not None:
                checkpointer.request()
            return
        self._release(conn.info)

    def rollback(self, conn: Any) -> None:
        """SQLAlchemy's `rollback` event, before the driver's ROLLBACK: rolled back here first, as `commit`."""
        try:
            if conn.info.get(_HELD):
                with contextlib.suppress(conn.dialect.loaded_dbapi.Error):  # SQLAlchemy's own rollback reports it
                    conn.connection.dbapi_connection.rollback()
        finally:
            self._release(conn.info)

    def checkin(self, _dbapi_conn: Any, record: Any) -> None:
        """A connection back in the pool holds no transaction: never let it keep the gate."""
        self._release(record.info)

    def _acquire(self, info: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.timeout_s
        if not self._lock.acquire(timeout=self.timeout_s):
            raise self._busy()
        try:
            if self.lock_path is not None:
                info[_FILE] = self._lock_file(deadline)
        except BaseException:
            self._lock.release()
            raise
        info[_HELD] = True

    def _lock_file(self, deadline: float) -> int:
        assert fcntl is not None and self.lock_path is not None
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise self._busy() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
            except BaseException:
                os.close(fd)
                raise

    def _busy(self) -> TimeoutError:
        return TimeoutError(f"the database stayed busy for {self.timeout_s:.0f} s; try again")

    def _release(self, info: dict[str, Any]) -> None:
        if info.pop(_HELD, False):
            fd = info.pop(_FILE, None)
            if fd is not None:
                os.close(fd)  # closing the descriptor drops its advisory lock
            self._lock.release()
