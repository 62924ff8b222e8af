"""Sessions for requests that only read: every transaction begins as a read, which on SQLite neither waits
for nor holds the writer's place, and a write in one is refused with an error that says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from trainer.db.gate import WriteInReadError
from trainer.db.models import User
from trainer.db.session import end_reads, make_engine, make_read_sessionmaker, make_sessionmaker


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reads.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (1)"))
    yield engine
    engine.dispose()


def test_every_transaction_of_a_read_session_reads_beside_a_writer(engine: Engine) -> None:
    reads = make_read_sessionmaker(engine)
    with engine.connect() as writer:
        writer.execute(text("UPDATE counter SET n = 2"))  # holds the writer's place, not committed
        with reads() as db:
            assert db.execute(text("SELECT n FROM counter")).scalar_one() == 1  # no wait, the committed value
            assert end_reads(db)  # ended in this thread, as a read is
            assert db.execute(text("SELECT n FROM counter")).scalar_one() == 1  # the next one is a read too
            db.commit()
        writer.commit()
    with reads() as db:
        assert db.execute(text("SELECT n FROM counter")).scalar_one() == 2


@pytest.mark.parametrize("statement", ["UPDATE counter SET n = 3", "  insert into counter values (4)",
                                       "DELETE FROM counter"])
def test_a_write_in_a_read_session_is_refused_and_says_what_to_do(engine: Engine, statement: str) -> None:
    with make_read_sessionmaker(engine)() as db, pytest.raises(WriteInReadError) as caught:
        db.execute(text(statement))
    assert statement.strip()[:20] in str(caught.value)
    assert "end the reads first (trainer.db.session.end_reads)" in str(caught.value)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1  # nothing was written


def test_an_orm_write_in_a_read_session_is_refused_at_the_flush(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orm.db'}")
    try:
        User.metadata.create_all(engine)
        with make_read_sessionmaker(engine)() as db:
            db.add(User(name="ann", role="trainee", password_hash="x"))
            with pytest.raises(WriteInReadError, match="INSERT INTO users"):
                db.commit()
        with make_sessionmaker(engine)() as db:  # a writer's session writes as ever
            db.add(User(name="ann", role="trainee", password_hash="x"))
            db.commit()
            assert db.query(User).count() == 1
    finally:
        engine.dispose()


def test_a_writers_session_is_not_refused(engine: Engine) -> None:
    db: Session = make_sessionmaker(engine)()
    try:
        db.execute(text("UPDATE counter SET n = 5"))
        db.commit()
        assert db.execute(text("SELECT n FROM counter")).scalar_one() == 5
    finally:
        db.close()
