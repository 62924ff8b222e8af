"""Shared fixtures: settings on a temporary SQLite file, a migrated database, a live app client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trainer.config import Settings

PG_ADMIN_URL = os.environ.get("SPIN_TRAINER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# `SPIN_TRAINER_TEST_DB=postgresql` runs every test that uses make_settings on PostgreSQL (CI does both).
TEST_DB = os.environ.get("SPIN_TRAINER_TEST_DB", "sqlite")
_CREATED: list[str] = []


def _admin_engine() -> Any:
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def new_pg_database() -> str:
    """Create an empty throwaway database and return its URL; all are dropped when the run ends."""
    from sqlalchemy import text

    name = f"spin_t_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    _CREATED.append(name)
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def fresh_database_url(tmp_path: Path) -> str:
    if TEST_DB == "postgresql":
        return new_pg_database()
    return f"sqlite:///{tmp_path / 'data' / 'test.db'}"


@pytest.fixture(scope="session", autouse=True)
def _drop_throwaway_databases() -> Iterator[None]:
    yield
    if not _CREATED:
        return
    from sqlalchemy import text

    engine = _admin_engine()
    with engine.connect() as conn:
        for name in _CREATED:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": overrides.pop("database_url", None) or fresh_database_url(tmp_path),
        "engine": "scripted",
        "openai_api_key": None,
        "openai_base_url": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@dataclass
class PgDatabase:
    url: str
    name: str


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabase]:
    """A throwaway PostgreSQL database for this run; skipped without a server, except in CI."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"spin_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required in CI: {exc}")
        pytest.skip("no PostgreSQL server at 127.0.0.1:5432")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield PgDatabase(url=url, name=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
