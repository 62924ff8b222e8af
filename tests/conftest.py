"""Shared fixtures: settings on a temporary SQLite file, a migrated database, a live app client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainer.config import Settings

PG_ADMIN_URL = os.environ.get("SPIN_TRAINER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path / 'data' / 'test.db'}",
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
