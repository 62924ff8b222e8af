"""A serving app encodes sentences in a child process it starts and stops; an app built for tests does not."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import seed_users
from tests.unit.test_embed_prefetch import wait_for_prefetches
from trainer.app import create_app
from trainer.config import Settings
from trainer.conversation import CONTEXT_TURNS
from trainer.db.migrate import upgrade
from trainer.spin import classifier, embed
from trainer.spin.encoder_process import EncoderProcess
from trainer.spin.label_ahead import Labeller, LabelsAhead, Soon
from trainer.spin.labels import Lang
from trainer.spin.segment import split_segments
from trainer.spin.types import Classification, ContextTurn
from trainer.web.recent import RecentContexts


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
        ahead = labels_ahead()
        assert ahead.begun == 1  # on arrival, in the context the call's start left, worked out by the child
        assert ahead.labeller == child.classify
        assert line not in embed._cache  # this process neither encoded nor labelled it
    assert child.pid is None and not _alive(pid)
    assert not isinstance(embed._encoder(), EncoderProcess)
    assert classifier._elsewhere.get("labeller") is None and ahead.waiting == 0


def labels_ahead() -> LabelsAhead:
    """The serving app's labeller (set by `embed.encode_in_child_process`)."""
    ahead = classifier._elsewhere.get("labeller")
    assert isinstance(ahead, LabelsAhead)
    return ahead


@contextmanager
def serving_a_call(settings: Settings) -> Iterator[tuple[FastAPI, TestClient, dict[str, str], int]]:
    """A serving app whose child's labeller is watched (`WatchedLabels`), and a call tina began in it."""
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"tina": "trainee"})
    auth = {"Authorization": f"Bearer {tokens['tina']}"}
    app = create_app(settings, encoder_process=True)
    try:
        with TestClient(app) as client:
            ahead = labels_ahead()
            watched = ahead.labeller = WatchedLabels(ahead.labeller)
            if ahead.soon is not None:  # labels begun on the event loop go to the child's own channel
                ahead.soon = watched.watching(ahead.soon)
            call = client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=auth)
            assert call.status_code == 201, call.text
            yield app, client, auth, call.json()["id"]
    finally:
        embed.encode_in_this_process()


def watched_labels() -> WatchedLabels:
    """The serving app's child labeller as `serving_a_call` watches it."""
    watched = labels_ahead().labeller
    assert isinstance(watched, WatchedLabels)
    return watched


class WatchedLabels:
    """The child's labeller, recording each line it is asked to label."""

    def __init__(self, labeller: Labeller) -> None:
        self.labeller = labeller
        self.asked: list[str] = []

    def __call__(self, text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
        self.asked.append(text)
        return self.labeller(text, context, lang)

    def watching(self, soon: Soon) -> Soon:
        """`LabelsAhead.soon` recording each line it asked the child for, in the same list."""
        def asked(text: str, context: Sequence[ContextTurn], lang: Lang | None
                  ) -> Future[Classification | None] | None:
            label = soon(text, context, lang)
            if label is not None:
                self.asked.append(text)
            return label
        return asked


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
    """A line of a call this process knows nothing of (another process stored its last turns) is encoded
    ahead, not labelled ahead."""
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"tina": "trainee"})
    auth = {"Authorization": f"Bearer {tokens['tina']}"}
    app = create_app(settings, encoder_process=True)
    with TestClient(app) as client:
        watched = Watched(embed._encoder())
        embed.use_encoder(watched, embed.DIM)
        ahead = labels_ahead()
        call = client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=auth)
        assert call.status_code == 201, call.text
        app.state.ctx.recent_contexts = RecentContexts()  # as if the call had begun in another process
        turns = f"/api/calls/{call.json()['id']}/turns"
        line = "How many trucks do you run each day? What happens to a customer when one is late?"
        segments = sorted(set(split_segments(line)))
        assert len(segments) == 2
        turn = client.post(turns, json={"text": line}, headers=auth)
        assert turn.status_code == 200, turn.text
        assert segments in watched.asked  # one batch, sent before the label
        assert sum(text in batch for batch in watched.asked for text in segments) == 2, watched.asked
        assert ahead.begun == 0

        watched.asked.clear()
        labelled = WatchedLabels(ahead.labeller)
        ahead.labeller = labelled
        other = "What would a week without late loads be worth to you?"
        refused = client.post(turns, json={"text": other}, headers={"Authorization": "Bearer not-a-token"})
        too_long = client.post(turns, json={"text": other + " x" * 2000}, headers=auth)
        assert (refused.status_code, too_long.status_code) == (401, 413), (refused.text, too_long.text)
        _prefetches_done()
        assert watched.asked == [["(marker) every earlier prefetch has run"]]
        assert labelled.asked == [] and ahead.waiting == 0  # the call's turns were known: none begun either
    embed.encode_in_this_process()


def test_a_line_is_labelled_once_in_the_context_this_process_stored(settings: Settings) -> None:
    """The label begun on arrival is the turn's; a guess the call's turns do not bear out is not used."""
    with serving_a_call(settings) as (app, client, auth, call_id):
        ahead, labelled, turns = labels_ahead(), watched_labels(), f"/api/calls/{call_id}/turns"
        lines = ["How many trucks do you run each day?", "How often is one of them late?",
                 "What does a late load cost you with your biggest customer?"]
        for n, line in enumerate(lines[:2], start=1):
            turn = client.post(turns, json={"text": line}, headers=auth)
            assert turn.status_code == 200, turn.text
            # Once each, begun before the call loaded (the turn labels it itself if the label is not yet begun).
            assert (labelled.asked, ahead.begun) == (lines[:n], n) and ahead.hits <= n

        # Another process stored a line of this call since: this process's guess of its turns is wrong.
        app.state.ctx.recent_contexts.remember(call_id, "en", (ContextTurn("client", "Not what was said."),))
        hits = ahead.hits
        turn = client.post(turns, json={"text": lines[2]}, headers=auth)
        assert turn.status_code == 200, turn.text
        assert ahead.begun == 3 and ahead.hits == hits
        assert labelled.asked[:2] == lines[:2] and labelled.asked[2:] in ([lines[2]] * 2, [lines[2]])
        shown = client.get(f"/api/calls/{call_id}", headers=auth).json()["turns"]
        history = [ContextTurn("trainee" if t["role"] == "trainee" else "client", t["text"]) for t in shown[:-2]]
        expected = classifier.classify_with(lines[2], history[-CONTEXT_TURNS:], "en", classifier.APPROACH)
        assert shown[-2]["label"] == expected.label.value and shown[-2]["reason"] == expected.reason


def test_a_known_writers_line_is_labelled_while_the_request_waits_for_a_database_place(settings: Settings) -> None:
    with serving_a_call(settings) as (app, client, auth, call_id):
        ahead, watched, turns = labels_ahead(), watched_labels(), f"/api/calls/{call_id}/turns"
        first = client.post(turns, json={"text": "How many trucks do you run each day?"}, headers=auth)
        assert first.status_code == 200, first.text  # tina has now signed in as a writer in this process
        hits = ahead.hits
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
                if line in watched.asked:
                    break
                threading.Event().wait(0.01)
            assert line in watched.asked, "the line waited for a place before its label began"
            assert not answer, "the turn went on without a database place"
        finally:
            for _ in range(slots.places):
                client.portal.call(slots._free.release)
            sender.join(30)
        assert answer and answer[0].status_code == 200, answer
        assert watched.asked.count(line) == 1 and ahead.begun == 2, "labelled again after the sign-in"
        assert ahead.hits == hits + 1


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
