"""A serving app encodes sentences in a child process it starts and stops; an app built for tests does not."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import seed_users
from tests.unit.test_embed_prefetch import wait_for_prefetches
from trainer.app import create_app
from trainer.config import Settings
from trainer.db.migrate import upgrade
from trainer.spin import embed
from trainer.spin.encoder_process import EncoderProcess
from trainer.spin.segment import split_segments


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


class Watched:
    """The serving app's encoder, recording each batch it is asked for."""

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.asked: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Any:
        self.asked.append(list(texts))
        return self.encoder.encode(texts)


def _prefetches_done() -> None:
    """Every prefetch submitted so far has run: the prefetch thread takes them in order."""
    embed.prefetch(["(marker) every earlier prefetch has run"])
    wait_for_prefetches()


def test_a_line_is_encoded_once_while_its_call_loads_and_only_for_a_writer(settings: Settings) -> None:
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"tina": "trainee"})
    auth = {"Authorization": f"Bearer {tokens['tina']}"}
    with TestClient(create_app(settings, encoder_process=True)) as client:
        watched = Watched(embed._encoder())
        embed.use_encoder(watched, embed.DIM)
        call = client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=auth)
        assert call.status_code == 201, call.text
        turns = f"/api/calls/{call.json()['id']}/turns"
        line = "How many trucks do you run each day? What happens to a customer when one is late?"
        segments = sorted(set(split_segments(line)))
        assert len(segments) == 2
        turn = client.post(turns, json={"text": line}, headers=auth)
        assert turn.status_code == 200, turn.text
        assert segments in watched.asked  # one batch, sent before the label
        assert sum(text in batch for batch in watched.asked for text in segments) == 2, watched.asked

        watched.asked.clear()
        other = "What would a week without late loads be worth to you?"
        refused = client.post(turns, json={"text": other}, headers={"Authorization": "Bearer not-a-token"})
        too_long = client.post(turns, json={"text": other + " x" * 2000}, headers=auth)
        assert (refused.status_code, too_long.status_code) == (401, 413), (refused.text, too_long.text)
        _prefetches_done()
        assert watched.asked == [["(marker) every earlier prefetch has run"]]
    embed.encode_in_this_process()


def test_a_known_writers_line_is_encoded_while_the_request_waits_for_a_database_place(settings: Settings) -> None:
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"tina": "trainee"})
    auth = {"Authorization": f"Bearer {tokens['tina']}"}
    app = create_app(settings, encoder_process=True)
    with TestClient(app) as client:
        watched = Watched(embed._encoder())
        embed.use_encoder(watched, embed.DIM)
        call = client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=auth)
        assert call.status_code == 201, call.text
        turns = f"/api/calls/{call.json()['id']}/turns"
        first = client.post(turns, json={"text": "How many trucks do you run each day?"}, headers=auth)
        assert first.status_code == 200, first.text  # tina has now signed in as a writer in this process
        slots = app.state.ctx.db_slots
        for _ in range(slots.places):  # every database place taken: the next turn waits before its sign-in
            client.portal.call(slots._free.acquire)
        line = "What happens to a customer when one of them is late?"
        answer: list[Any] = []
        sender = threading.Thread(target=lambda: answer.append(client.post(turns, json={"text": line},
                                                                           headers=auth)))
        sender.start()
        try:
            for _ in range(3000):
                if [line] in watched.asked:
                    break
                threading.Event().wait(0.01)
            assert [line] in watched.asked, "the line waited for a place before it was encoded"
            assert not answer, "the turn went on without a database place"
        finally:
            for _ in range(slots.places):
                client.portal.call(slots._free.release)
            sender.join(30)
        assert answer and answer[0].status_code == 200, answer
        assert sum(line in batch for batch in watched.asked) == 1, "encoded again after the sign-in"
    embed.encode_in_this_process()


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
