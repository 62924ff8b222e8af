"""The serving process hides its startup heap from the garbage collector and collects its young generation
less often; tests and embedders do neither."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from trainer.app import GC_YOUNG_THRESHOLD, create_app
from trainer.config import Settings
from trainer.db.migrate import upgrade


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test run collects as usual
    gc.set_threshold(*thresholds)


def test_a_serving_app_freezes_what_startup_built(settings: Settings, unfrozen: None) -> None:
    upgrade(settings.effective_database_url)
    before = gc.get_threshold()
    with TestClient(create_app(settings, freeze_heap=True)) as client:
        frozen = gc.get_freeze_count()
        # the classifier's model, the routes and the templates were built before the freeze
        assert frozen > 10_000, frozen
        assert client.get("/healthz").json() == {"status": "ok"}
        tracked = len(gc.get_objects())
        young, older, oldest = gc.get_threshold()
    assert tracked < frozen, "after the freeze a full collection walks fewer objects than startup built"
    assert young == GC_YOUNG_THRESHOLD and (older, oldest) == before[1:], "only the young generation's changed"


def test_an_app_built_for_tests_leaves_the_collector_alone(settings: Settings, unfrozen: None) -> None:
    upgrade(settings.effective_database_url)
    thresholds = gc.get_threshold()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds
