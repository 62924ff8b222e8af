"""A streamed line's reply asked for on arrival (trainer.web.ahead), against a model on loopback, in a serving
app that labels in its encoder's child: asked before the sign-in, kept only when it is exactly the turn's own
request, stopped when the turn is refused, and never for a line to another trainee's call."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import seed_users
from tests.api.test_streaming_and_idempotency import events
from tests.api.test_streaming_llm_faults import QUESTION, REPLY, App
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI, fake_openai
from trainer.app import create_app
from trainer.db.migrate import upgrade
from trainer.services import accounts
from trainer.spin import embed
from trainer.spin.types import ContextTurn
from trainer.web.context import AppContext

NEXT = "What happens to your deliveries when one of those trucks breaks down?"


@contextmanager
def serving(tmp_path: Path, fake: FakeOpenAI, *names: str) -> Iterator[dict[str, App]]:
    """A serving app (its labels worked out in the encoder's child) on the LLM engine, one client per name."""
    settings = make_settings(tmp_path, engine="llm", openai_base_url=fake.base_url, openai_api_key="test-key",
                             llm_model="tiny-test", llm_timeout_s=5.0)
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {name: "trainee" for name in names})
    app = create_app(settings, encoder_process=True)
    try:
        with TestClient(app) as client:
            yield {name: App(app, client, {"Authorization": f"Bearer {tokens[name]}"}) for name in names}
    finally:
        embed.encode_in_this_process()


def say(live: App, call_id: int, text: str, **extra: Any) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
    res = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": text, **extra}, headers=live.auth)
    return res.status_code, events(res.text) if res.status_code == 200 else []


def ctx_of(live: App) -> AppContext:
    ctx: AppContext = live.app.state.ctx
    return ctx


def wait_until(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def hold_sign_ins(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """From now on a bearer token's look-up says it began (the first event) and waits for the second."""
    signing_in, go_on = threading.Event(), threading.Event()
    look_up = accounts.user_for_token

    def held(db: Any, token: str) -> Any:
        signing_in.set()
        assert go_on.wait(10)
        return look_up(db, token)

    monkeypatch.setattr(accounts, "user_for_token", held)
    return signing_in, go_on


@contextmanager
def saying_while_signed_in_waits(monkeypatch: pytest.MonkeyPatch, live: App, call_id: int, text: str
                                 ) -> Iterator[list[tuple[int, list[tuple[str, dict[str, Any]]]]]]:
    """`say` from a thread of its own, its sign-in held until the block ends; then its answer, in the list."""
    signing_in, go_on = hold_sign_ins(monkeypatch)
    answer: list[tuple[int, list[tuple[str, dict[str, Any]]]]] = []
    speaker = threading.Thread(target=lambda: answer.append(say(live, call_id, text)))
    speaker.start()
    try:
        assert signing_in.wait(5)
        yield answer
    finally:
        go_on.set()
        speaker.join(10)


def test_the_model_hears_a_known_writers_line_before_the_sign_in_and_only_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_openai(reply=REPLY) as fake, serving(tmp_path, fake, "tina") as apps:
        tina = apps["tina"]
        call_id = tina.start_call()
        assert say(tina, call_id, QUESTION)[0] == 200  # tina signs in as a writer in this process
        with saying_while_signed_in_waits(monkeypatch, tina, call_id, NEXT) as answer:
            assert wait_until(lambda: len(fake.requests) == 2), "the model was asked while the sign-in waited"
            asked_ahead = fake.requests[1]
        status, got = answer[0]
        turns = tina.call(call_id)["turns"]
    assert status == 200 and got[0][0] == "trainee" and got[-1][0] == "done"
    assert got[-1][1]["client"]["text"] == REPLY and not got[-1][1]["replaced"]
    assert len(fake.requests) == 2 and fake.dropped == 0, "the turn's own request was the one asked ahead"
    assert asked_ahead["messages"][-1] == {"role": "user", "content": NEXT}
    assert [t["role"] for t in turns] == ["client", "trainee", "client", "trainee", "client"]
    assert turns[3]["text"] == NEXT and turns[3]["letter"] == got[0][1]["letter"]


def test_a_wrong_guess_is_stopped_and_the_model_asked_with_the_turns_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The call went on elsewhere (another server process, say): what this process remembered is stale."""
    with fake_openai(reply=REPLY, tokens_per_s=20) as fake, serving(tmp_path, fake, "tina") as apps:
        tina = apps["tina"]
        call_id = tina.start_call()
        assert say(tina, call_id, QUESTION)[0] == 200
        recent = ctx_of(tina).recent_contexts
        found = recent.basis(call_id)
        context = recent.guess(call_id)
        assert found is not None and context is not None
        lang, basis = found
        stale = (*basis.history[:-1], ContextTurn(role="client", text="We only run vans."))
        recent.remember(call_id, lang, context[1], dataclasses.replace(basis, history=stale))
        with saying_while_signed_in_waits(monkeypatch, tina, call_id, NEXT) as answer:
            assert wait_until(lambda: len(fake.requests) == 2), "asked with the guess"
        status, got = answer[0]
        assert wait_until(lambda: fake.dropped == 1), "the reply to the guess was not left speaking"
        turns = tina.call(call_id)["turns"]
    assert status == 200 and got[-1][1]["client"]["text"] == REPLY
    assert len(fake.requests) == 3, "asked with the guess, then with the turn's own request"
    guessed, own = fake.requests[1]["messages"], fake.requests[2]["messages"]
    assert any(m["content"] == "We only run vans." for m in guessed)
    assert not any(m["content"] == "We only run vans." for m in own)
    assert [t["text"] for t in turns[-3:]] == [REPLY, NEXT, REPLY]


def test_a_refused_line_leaves_no_reply_speaking(tmp_path: Path) -> None:
    with fake_openai(reply=REPLY, tokens_per_s=10) as fake, serving(tmp_path, fake, "tina") as apps:
        tina = apps["tina"]
        call_id = tina.start_call()
        assert say(tina, call_id, QUESTION)[0] == 200
        status, _ = say(tina, call_id, NEXT, tone="friendly")  # a field the API does not take: 422
        time.sleep(0.5)  # the label's time in the child, and a guess's if one was made
        assert wait_until(lambda: len(fake.requests) == 1 or fake.dropped == 1)
        turns = tina.call(call_id)["turns"]
    assert status == 422
    assert len(turns) == 3, "nothing of the refused line was stored"


def test_a_line_to_another_trainees_call_is_not_answered_ahead(tmp_path: Path) -> None:
    with fake_openai(reply=REPLY) as fake, serving(tmp_path, fake, "tina", "tom") as apps:
        tina, tom = apps["tina"], apps["tom"]
        call_id = tina.start_call()
        assert say(tina, call_id, QUESTION)[0] == 200
        own = tom.start_call()
        assert say(tom, own, QUESTION)[0] == 200  # tom is a writer this process knows too
        asked = len(fake.requests)
        status, _ = say(tom, call_id, NEXT)
        time.sleep(0.3)
    assert status == 404
    assert len(fake.requests) == asked, "the model never heard tom's line in tina's call"


def test_with_reply_ahead_off_the_model_waits_for_the_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIN_TRAINER_REPLY_AHEAD", "false")
    with fake_openai(reply=REPLY) as fake, serving(tmp_path, fake, "tina") as apps:
        tina = apps["tina"]
        assert not ctx_of(tina).settings.reply_ahead
        call_id = tina.start_call()
        assert say(tina, call_id, QUESTION)[0] == 200
        with saying_while_signed_in_waits(monkeypatch, tina, call_id, NEXT) as answer:
            time.sleep(0.3)  # a label's time in the child, many times over
            asked_meanwhile = len(fake.requests)
    assert asked_meanwhile == 1, "only the first line's request: the second waited for its turn"
    assert answer[0][0] == 200 and len(fake.requests) == 2


def test_the_first_line_of_a_call_is_answered_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting the call is a writer's sign-in too, and leaves the call's basis: no earlier turn is needed."""
    with fake_openai(reply=REPLY) as fake, serving(tmp_path, fake, "tina") as apps:
        tina = apps["tina"]
        call_id = tina.start_call()
        with saying_while_signed_in_waits(monkeypatch, tina, call_id, QUESTION) as answer:
            assert wait_until(lambda: len(fake.requests) == 1), "the model was asked while the sign-in waited"
        status, got = answer[0]
    assert status == 200 and got[-1][1]["client"]["text"] == REPLY
    assert len(fake.requests) == 1 and fake.dropped == 0


PUT_THROUGH = ("Good morning, this is Alex from FieldPro. Could you put me through to the logistics director, "
               "Mr Volkov? It's about an interview about the new warehouse in Kazan.")


def test_a_call_put_through_to_another_persona_is_answered_ahead(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """After a transfer the speaker is another persona, which the turn looks up; the guess takes it as the
    turn before looked it up."""
    with fake_openai(reply=REPLY) as fake, serving(tmp_path, fake, "tina") as apps:
        tina = apps["tina"]
        res = tina.client.post("/api/calls", json={"persona": "gatekeeper", "lang": "en"}, headers=tina.auth)
        assert res.status_code == 201, res.text
        call_id = int(res.json()["id"])
        assert say(tina, call_id, PUT_THROUGH)[0] == 200
        assert tina.call(call_id)["state"]["speaker"] == "logistics-director"
        asked = len(fake.requests)
        with saying_while_signed_in_waits(monkeypatch, tina, call_id, NEXT) as answer:
            assert wait_until(lambda: len(fake.requests) == asked + 1), "asked while the sign-in waited"
        status, got = answer[0]
    assert status == 200 and got[-1][1]["client"]["text"] == REPLY
    assert len(fake.requests) == asked + 1 and fake.dropped == 0, "the guess was the turn's own request"
