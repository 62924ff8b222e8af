"""The streamed turn with the LLM engine, read on the event loop: each fault of the model, and a browser
that leaves mid-reply, end with the client's line stored and the trainee's words kept."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.api.conftest import seed_users
from tests.api.test_streaming_and_idempotency import events
from tests.conftest import make_settings
from tests.fakes.openai_server import closed_port_url, fake_openai
from trainer.app import create_app
from trainer.db.base import utcnow
from trainer.db.migrate import upgrade
from trainer.db.models import Call
from trainer.db.session import unit_of_work
from trainer.engines.faults import notice
from trainer.services.calls import INTERRUPTED
from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn

REPLY = "We run eighty-four trucks, mostly twenty-tonners, and a dozen vans for the city."
QUESTION = "How many trucks do you run today?"


@dataclass
class App:
    app: FastAPI
    client: TestClient
    auth: dict[str, str]

    def start_call(self) -> int:
        res = self.client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=self.auth)
        assert res.status_code == 201, res.text
        return int(res.json()["id"])

    def call(self, call_id: int) -> dict[str, Any]:
        res = self.client.get(f"/api/calls/{call_id}", headers=self.auth)
        assert res.status_code == 200, res.text
        return dict(res.json())


@contextmanager
def llm_app(tmp_path: Path, base_url: str, timeout_s: float = 2.0) -> Iterator[App]:
    settings = make_settings(tmp_path, engine="llm", openai_base_url=base_url, openai_api_key="test-key",
                             llm_model="tiny-test", llm_timeout_s=timeout_s)
    upgrade(settings.effective_database_url)
    token = seed_users(settings, {"tina": "trainee"})["tina"]
    app = create_app(settings)
    with TestClient(app) as client:
        yield App(app, client, {"Authorization": f"Bearer {token}"})


def stream(live: App, call_id: int) -> list[tuple[str, dict[str, Any]]]:
    res = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": QUESTION}, headers=live.auth)
    assert res.status_code == 200, res.text
    return events(res.text)


@pytest.mark.parametrize(("script", "kind", "shown"), [
    (["error", "error", "error"], "server", False),
    (["rate_limit", "rate_limit", "rate_limit"], "rate_limit", False),
    (["bad_request"], "refused", False),
    (["slow", "slow", "slow"], "timeout", False),
    (["cut"], "cut", True),
    (["malformed"], "malformed", True),
    (["empty"], "empty", False),
])
def test_a_failing_model_gives_the_scripted_line_with_its_notice(tmp_path: Path, script: list[str], kind: str,
                                                                 shown: bool) -> None:
    with fake_openai(reply=REPLY, script=list(script), retry_after="0.05", delay_s=2.0) as fake, \
            llm_app(tmp_path, fake.base_url, timeout_s=0.3) as live:
        call_id = live.start_call()
        got = stream(live, call_id)
        call = live.call(call_id)
    names = [e for e, _ in got]
    assert names[0] == "trainee" and names[-1] == "done" and names.count("token") >= 1
    done = got[-1][1]
    stored = call["turns"][-1]
    assert [t["role"] for t in call["turns"]] == ["client", "trainee", "client"], "nothing lost"
    assert stored["engine"] == "scripted" and stored["notice"] == notice(kind, "en")
    assert done["client"]["text"] == stored["text"]
    assert done["replaced"] is shown, "pieces of a broken reply already shown are replaced by the stored line"
    if not shown:
        assert "".join(d["text"] for e, d in got if e == "token").strip() == stored["text"]
    assert fake.served == script, "retried only where a retry is worth it"


def test_retries_before_the_first_piece_end_with_the_model_line(tmp_path: Path) -> None:
    with fake_openai(reply=REPLY, script=["rate_limit", "error"], retry_after="0.05") as fake, \
            llm_app(tmp_path, fake.base_url) as live:
        call_id = live.start_call()
        got = stream(live, call_id)
        stored = live.call(call_id)["turns"][-1]
    assert fake.served == ["rate_limit", "error", "ok"]
    assert got[-1][1]["replaced"] is False and got[-1][1]["client"]["text"] == REPLY
    assert stored["engine"] == "llm" and stored["notice"] is None and stored["tokens_out"] == 7


def test_a_server_that_refuses_connections_gives_the_scripted_line(tmp_path: Path) -> None:
    with llm_app(tmp_path, closed_port_url()) as live:
        call_id = live.start_call()
        got = stream(live, call_id)
        stored = live.call(call_id)["turns"][-1]
    assert stored["engine"] == "scripted" and stored["notice"] == notice("connection", "en")
    assert got[-1][1]["client"]["text"] == stored["text"] and got[-1][1]["replaced"] is False


def scope_for(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in {**headers, "content-type": "application/json",
                                                         "content-length": str(len(body))}.items()]
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": raw, "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}


def leave_after_first_token(live: App, call_id: int) -> list[bytes]:
    """POST the streamed turn straight to the ASGI app, on the app's own loop, and hang up after one token."""
    sent: list[bytes] = []
    body = json.dumps({"text": QUESTION}).encode()

    async def drive() -> None:
        token_seen = anyio.Event()
        requests = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if requests:
                return requests.pop(0)
            await token_seen.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
            chunk = message.get("body", b"")
            sent.append(chunk)
            if b"event: token" in chunk:
                token_seen.set()

        with anyio.fail_after(10):
            await live.app(scope_for(f"/api/calls/{call_id}/turns/stream", body, live.auth), receive, send)

    assert live.client.portal is not None
    live.client.portal.call(drive)
    return sent


def test_a_browser_that_leaves_mid_reply_gets_the_line_stored_and_the_model_stream_closed(tmp_path: Path) -> None:
    # 15 words at 5 a second: three seconds to speak the whole reply.
    with fake_openai(reply=REPLY, tokens_per_s=5.0) as fake, llm_app(tmp_path, fake.base_url) as live:
        call_id = live.start_call()
        left = time.monotonic()
        sent = leave_after_first_token(live, call_id)
        deadline = left + 10
        while len(turns := live.call(call_id)["turns"]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stored_after = time.monotonic() - left
    shown = b"".join(sent).decode()
    assert "event: trainee" in shown and "event: token" in shown and "event: done" not in shown
    assert [t["role"] for t in turns] == ["client", "trainee", "client"], "the trainee's words and a reply kept"
    assert turns[-1]["engine"] == "scripted" and turns[-1]["notice"] == INTERRUPTED["en"]
    assert stored_after < 2.5, "the model's stream was closed, not read to its end"
    assert len(fake.requests) == 1


def test_the_async_client_is_made_on_the_app_loop_and_closed_at_shutdown(tmp_path: Path) -> None:
    with fake_openai(reply=REPLY) as fake, llm_app(tmp_path, fake.base_url) as live:
        assert stream(live, live.start_call())[-1][1]["client"]["text"] == REPLY
        engine = live.app.state.ctx.engine

        async def current() -> Any:
            return engine.async_client()

        assert live.client.portal is not None
        client = live.client.portal.call(current)
        assert live.client.portal.call(current) is client, "one client for the app's loop, reused"
        assert not client.is_closed()
    assert client.is_closed(), "the lifespan closed it"
    assert fake.requests[-1]["stream"] is True


def test_a_line_that_cannot_be_stored_withdraws_the_model_request_asked_early(tmp_path: Path) -> None:
    # The model is asked as soon as the director decides, while the line is still being written
    # (trainer.web.early). Here another writer hangs the call up while the line is labelled and keeps
    # the database a moment, so the model hears the request before the line's write finds the call
    # ended: a 409, and the request must be withdrawn (the 3 s stream closed early), nothing stored.
    with fake_openai(reply=REPLY, tokens_per_s=5.0) as fake, llm_app(tmp_path, fake.base_url) as live:
        call_id = live.start_call()
        ctx = live.app.state.ctx
        label = ctx.classifier
        writing = threading.Event()

        def hang_up() -> None:
            with unit_of_work(ctx.sessions) as other:
                other.execute(update(Call).where(Call.id == call_id).values(ended_at=utcnow()))
                writing.set()
                time.sleep(0.5)

        def hang_up_meanwhile(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification:
            threading.Thread(target=hang_up).start()
            writing.wait(5)
            return label(text, context, lang)

        ctx.classifier = hang_up_meanwhile
        res = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": QUESTION}, headers=live.auth)
        deadline = time.monotonic() + 2.0
        while fake.dropped < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        turns = live.call(call_id)["turns"]
    assert res.status_code == 409 and "ended while this line" in res.json()["detail"]
    assert [t["role"] for t in turns] == ["client"], "neither the line nor a reply to it was stored"
    assert len(fake.requests) == 1, "the model was asked while the line waited to be written"
    assert fake.dropped == 1, "and its stream was closed, not read through"


def test_a_streamed_turn_on_sqlite_reads_in_one_transaction_and_writes_in_two(tmp_path: Path) -> None:
    """Sign-in and the call's load share one read transaction (it takes no writer's place); the line and
    the reply are each one writer's transaction. Every BEGIN is a statement the server sends."""
    from sqlalchemy import event

    with fake_openai(reply=REPLY) as fake, llm_app(tmp_path, fake.base_url) as live:
        if live.app.state.ctx.db_engine.dialect.name != "sqlite":
            pytest.skip("SQLite's explicit BEGIN statements (PostgreSQL begins implicitly)")
        call_id = live.start_call()
        statements: list[str] = []
        event.listen(live.app.state.ctx.db_engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_: statements.append(statement))
        got = stream(live, call_id)
        begins = [s for s in statements if s.startswith("BEGIN")]
        assert got[-1][0] == "done" and got[-1][1]["client"]["text"] == REPLY
        assert begins == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"], begins
        assert [t["role"] for t in live.call(call_id)["turns"]] == ["client", "trainee", "client"]


def test_a_streamed_turn_on_postgresql_sends_no_begin_and_writes_its_line_in_one_statement(tmp_path: Path) -> None:
    """Sign-in and the call's load read in autocommit; the director's state and the line go in as one
    statement, the reply as another, each atomic on its own: four round trips, none a BEGIN or COMMIT."""
    from sqlalchemy import event

    with fake_openai(reply=REPLY) as fake, llm_app(tmp_path, fake.base_url) as live:
        if live.app.state.ctx.db_engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's implicit BEGIN (SQLite's explicit ones: the test above)")
        call_id = live.start_call()
        sent: list[tuple[str, bool]] = []

        def record(conn: Any, _cur: Any, statement: str, *_: Any) -> None:
            sent.append((statement.split()[0], conn.connection.driver_connection.autocommit))

        event.listen(live.app.state.ctx.db_engine, "before_cursor_execute", record)
        got = stream(live, call_id)
        assert got[-1][0] == "done" and got[-1][1]["client"]["text"] == REPLY
        assert sent == [("SELECT", True), ("SELECT", True), ("SELECT", True), ("WITH", True), ("INSERT", True)], sent
        turns = live.call(call_id)["turns"]
        assert [t["role"] for t in turns] == ["client", "trainee", "client"]
        assert turns[1]["text"] == QUESTION and turns[1]["label"]
