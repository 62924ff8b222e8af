"""SQLite transactions queue on the process's writer gate: no "database is locked", no lost update,
and the gate is never left held by a connection that went back to the pool."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from trainer.db.checkpoint import CHECKPOINT_EVERY, Checkpointer
from trainer.db.gate import READ_ONLY, WriterGate
from trainer.db.session import begin_read, end_reads, make_engine, make_sessionmaker


def _counter_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def _errors_in_threads(work: Callable[[], None], threads: int) -> list[BaseException]:
    """Run `work` on `threads` threads at once; what each raised (an exception in a thread would be lost)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join()
    return errors


def test_read_then_write_transactions_from_many_threads_all_land(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)

    def bump() -> None:
        for _ in range(25):
            with engine.begin() as conn:  # read, then write from what was read: needs serialising
                n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    assert _errors_in_threads(bump, 8) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 200
    engine.dispose()


def test_the_next_writer_never_meets_a_commit_still_running(tmp_path: Path) -> None:
    """The gate opens only once the COMMIT is done. With SQLite's busy handler off, a BEGIN IMMEDIATE that
    met a COMMIT still running would fail at once ("database is locked") instead of sleeping in it."""
    engine = _counter_engine(tmp_path)

    @event.listens_for(engine, "connect")
    def no_busy_wait(dbapi_conn, _record):  # type: ignore[no-untyped-def]  # after the engine's own pragmas
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    engine.dispose()  # connections made from now on have it

    def write() -> None:
        for _ in range(150):
            with engine.begin() as conn:
                conn.execute(text("UPDATE counter SET n = n + 1"))

    assert _errors_in_threads(write, 4) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 600
    engine.dispose()


def test_a_failed_commit_keeps_the_gate_until_its_rollback(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=ON"))
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
                          "DEFERRABLE INITIALLY DEFERRED)"))
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
        conn.execute(text("INSERT INTO child VALUES (7)"))  # checked at COMMIT: it fails there
    with engine.begin() as conn:  # the rollback after the failed COMMIT let the gate go
        assert conn.execute(text("SELECT count(*) FROM child")).scalar_one() == 0
    engine.dispose()


def test_a_failed_transaction_releases_the_gate(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)
    with pytest.raises(Exception, match="no such table"), engine.begin() as conn:
        conn.execute(text("SELECT * FROM missing"))
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = 1"))
        done.set()

    threading.Thread(target=write).start()
    assert done.wait(5), "the gate stayed held after a rollback"
    engine.dispose()


def test_a_connection_back_in_the_pool_never_keeps_the_gate(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)
    conn = engine.connect()
    conn.begin()
    conn.execute(text("UPDATE counter SET n = 5"))
    conn.close()  # closed mid-transaction: rolled back, and the gate is free again
    with engine.begin() as other:
        assert other.execute(text("SELECT n FROM counter")).scalar_one() == 0
    engine.dispose()


def test_waiting_too_long_for_the_gate_is_a_clear_error() -> None:
    gate = WriterGate(timeout_s=0.05)

    class Conn:
        def __init__(self, **options: object) -> None:
            self.info: dict[str, object] = {}
            self.sql: list[str] = []
            self.options = options

        def exec_driver_sql(self, sql: str) -> None:
            self.sql.append(sql)

        def get_execution_options(self) -> dict[str, object]:
            return self.options

    first, second, reader = Conn(), Conn(), Conn(**READ_ONLY)
    gate.begin(first)
    assert first.sql == ["BEGIN IMMEDIATE"]
    with pytest.raises(TimeoutError, match="database stayed busy"):
        gate.begin(second)
    gate.begin(reader)  # a transaction that only reads does not queue for the writer's place
    assert reader.sql == ["BEGIN"] and not reader.info
    gate.end(reader)
    gate.end(first)
    gate.begin(second)
    assert second.sql == ["BEGIN IMMEDIATE"]


def test_a_read_only_session_reads_while_another_transaction_writes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    sessions = make_sessionmaker(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (n INTEGER)"))
            conn.execute(text("INSERT INTO counter VALUES (1)"))
        with engine.connect() as writer:
            writer.execute(text("UPDATE counter SET n = 2"))  # holds the writer's place, not committed
            reader = sessions()
            try:
                begin_read(reader)
                assert reader.execute(text("SELECT n FROM counter")).scalar_one() == 1  # no wait, old snapshot
                end_reads(reader)
                assert not reader.in_transaction()
            finally:
                reader.close()
            writer.commit()
    finally:
        engine.dispose()


BUMP = """
import sys
from sqlalchemy import text
from trainer.db.session import begin_read, end_reads, make_engine, make_sessionmaker
engine = make_engine(sys.argv[1])
for _ in range(40):
    with engine.begin() as conn:
        n = conn.execute(text("SELECT n FROM counter")).scalar_one()
        conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
"""


def test_processes_sharing_the_file_queue_on_its_lock_file(tmp_path: Path) -> None:
    engine = _counter_engine(tmp_path)
    url = str(engine.url)
    procs = [subprocess.Popen([sys.executable, "-c", BUMP, url], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 120
    assert (tmp_path / "gate.db.lock").exists()
    engine.dispose()


def test_the_log_is_copied_into_the_database_file_on_a_thread_of_its_own(tmp_path: Path) -> None:
    """SQLite's own checkpoint is off (it ran inside a COMMIT, with the gate held); every CHECKPOINT_EVERY
    commits the gate asks the checkpointer, and the rows reach the database file itself."""
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
            conn.execute(text("CREATE TABLE t (v TEXT)"))
        for _ in range(2 * CHECKPOINT_EVERY):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "x" * 4000})
        deadline = time.monotonic() + 10
        while (tmp_path / "wal.db").stat().st_size < CHECKPOINT_EVERY * 4000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (tmp_path / "wal.db").stat().st_size >= CHECKPOINT_EVERY * 4000
    finally:
        engine.dispose()


def test_the_checkpoint_thread_ends_when_idle_and_starts_again_when_asked(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'idle.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('a')"))
    checkpointer = Checkpointer(tmp_path / "idle.db", idle_s=0.05)

    def runs(n: int) -> bool:
        deadline = time.monotonic() + 5
        while checkpointer.done < n and time.monotonic() < deadline:
            time.sleep(0.005)
        return checkpointer.done >= n

    checkpointer.request()
    assert runs(1)
    deadline = time.monotonic() + 5
    while checkpointer.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not checkpointer.running
    checkpointer.request()
    assert runs(2)
    engine.dispose()
