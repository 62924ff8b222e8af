"""A serving app encodes sentences in a child process it starts and stops; an app built for tests does not."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from tests.api.conftest import seed_users
from trainer.app import create_app
from trainer.config import Settings
from trainer.db.migrate import upgrade
from trainer.spin import embed
from trainer.spin.encoder_process import EncoderProcess


def test_a_serving_app_labels_with_the_child_and_stops_it(settings: Settings) -> None:
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"tina": "trainee"})
    auth = {"Authorization": f"Bearer {tokens['tina']}"}
    with TestClient(create_app(settings, encoder_process=True)) as client:
        child = embed._encoder()
        assert isinstance(child, EncoderProcess) and child.pid is not None
        pid = child.pid
        call = client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=auth)
        assert call.status_code == 201, call.text
        line = "What slows your regional deliveries down most often these days?"
        turn = client.post(f"/api/calls/{call.json()['id']}/turns", json={"text": line}, headers=auth)
        assert turn.status_code == 200, turn.text
        assert turn.json()["trainee"]["letter"] == "P"
        assert line in embed._cache  # the label's vector came from the child
    assert child.pid is None and not _alive(pid)
    assert not isinstance(embed._encoder(), EncoderProcess)


def test_settings_can_keep_the_encoder_in_the_server(settings: Settings) -> None:
    assert settings.encoder_process is True
    off = settings.model_copy(update={"encoder_process": False})
    assert off.masked()["encoder_process"] is False


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
