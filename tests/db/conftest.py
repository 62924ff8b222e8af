"""The data-layer tests run on a SQLite file and on PostgreSQL (a throwaway database per run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import PgDatabase
from trainer.db.migrate import downgrade, upgrade
from trainer.db.session import make_engine, make_sessionmaker


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    pg: PgDatabase = request.getfixturevalue("pg_database")
    downgrade(pg.url, "base") if _has_tables(pg.url) else None
    yield pg.url
    downgrade(pg.url, "base")


def _has_tables(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT to_regclass('alembic_version')")).scalar())
    finally:
        engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)
