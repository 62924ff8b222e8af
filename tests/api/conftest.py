"""An app on a migrated temporary SQLite file, with one user and bearer token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from trainer.app import create_app
from trainer.config import Settings
from trainer.db.migrate import upgrade
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
from trainer.services.accounts import create_token, create_user

PASSWORD = "correct horse battery"


@dataclass
class Live:
    client: TestClient
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def seed_users(settings: Settings, names: dict[str, str]) -> dict[str, str]:
    engine = make_engine(settings.effective_database_url)
    tokens = {}
    with unit_of_work(make_sessionmaker(engine)) as db:
        for name, role in names.items():
            user = create_user(db, name, role, PASSWORD)
            tokens[name] = create_token(db, user, "tests")
    engine.dispose()
    return tokens


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"admin": "admin", "coach": "trainer", "tina": "trainee", "tom": "trainee"})
    with TestClient(create_app(settings)) as client:
        yield Live(client=client, settings=settings, tokens=tokens)
