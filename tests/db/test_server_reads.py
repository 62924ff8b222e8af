"""On PostgreSQL, reads run in autocommit and a single-statement write needs no transaction: a BEGIN and a
COMMIT are round trips of their own (psycopg sends BEGIN before a transaction's first statement). What
the server was asked is read off the driver's connection: its autocommit flag and whether a transaction
is open on the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from tests.conftest import PgDatabase
from trainer.db.gate import WriteInReadError
from trainer.db.session import (
    begin_read,
    end_reads,
    make_engine,
    make_sessionmaker,
    one_statement,
)


@pytest.fixture
def engine(pg_database: PgDatabase) -> Iterator[Engine]:
    engine = make_engine(pg_database.url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS counter"))
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (1)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE counter"))
    engine.dispose()


def _on_server(conn: Connection) -> tuple[bool, TransactionStatus]:
    """The driver connection's autocommit flag, and whether the server holds a transaction open for it."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver.autocommit, driver.info.transaction_status


def test_a_read_sends_no_begin_and_the_writes_after_it_get_a_transaction(engine: Engine) -> None:
    db: Session = make_sessionmaker(engine)()
    try:
        begin_read(db)
        assert db.execute(text("SELECT n FROM counter")).scalar_one() == 1
        assert _on_server(db.connection()) == (True, TransactionStatus.IDLE), "no BEGIN was sent for the read"
        assert end_reads(db), "the read is ended: what it read may have changed since"
        db.execute(text("UPDATE counter SET n = 2"))
        assert _on_server(db.connection()) == (False, TransactionStatus.INTRANS), "the write is in a transaction"
        db.rollback()
        assert db.execute(text("SELECT n FROM counter")).scalar_one() == 1, "and so rolled back as a whole"
        db.commit()
    finally:
        db.close()
    with engine.connect() as conn:  # the pooled connection went back as it came: not in autocommit
        conn.execute(text("SELECT 1"))
        assert _on_server(conn) == (False, TransactionStatus.INTRANS)


def test_a_write_among_the_reads_is_refused_there_too(engine: Engine) -> None:
    """In autocommit a write would be committed at once, apart from the writes around it."""
    db = make_sessionmaker(engine)()
    try:
        begin_read(db)
        with pytest.raises(WriteInReadError, match="end the reads first"):
            db.execute(text("DELETE FROM counter"))
        db.rollback()
        begin_read(db)
        assert end_reads(db)
        db.execute(text("DELETE FROM counter"))  # once the reads are ended it is a writer's statement
        db.rollback()
    finally:
        db.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1


def test_a_connection_given_back_amid_its_reads_leaves_autocommit(engine: Engine) -> None:
    db = make_sessionmaker(engine)()
    begin_read(db)
    driver = db.connection().connection.driver_connection
    assert driver is not None and driver.autocommit
    db.close()  # as a request that failed amid its reads
    assert not driver.autocommit
    with engine.connect() as conn:
        assert conn.connection.driver_connection is driver, "the pool gave the same connection back"
        conn.execute(text("UPDATE counter SET n = 9"))
        assert _on_server(conn) == (False, TransactionStatus.INTRANS)
        conn.rollback()


def test_one_statement_is_committed_without_a_transaction(engine: Engine) -> None:
    with one_statement(engine) as conn:
        conn.execute(text("UPDATE counter SET n = 4"))
        assert _on_server(conn) == (True, TransactionStatus.IDLE), "written and committed by the statement"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 4


def test_one_statement_on_sqlite_is_a_writers_transaction(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        with one_statement(engine) as conn:
            conn.execute(text("INSERT INTO counter VALUES (5)"))
            assert conn.in_transaction()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 5
    finally:
        engine.dispose()
