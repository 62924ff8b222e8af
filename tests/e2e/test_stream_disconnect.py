"""A real server streaming an LLM reply: a browser that hangs up mid-reply still gets the line stored,
the model's stream is closed at once, and the server goes on serving."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import seed_users
from tests.conftest import make_settings
from tests.e2e.test_server import Server, free_port
from tests.fakes.openai_server import fake_openai
from trainer.db.migrate import upgrade
from trainer.services.calls import INTERRUPTED

REPLY = "We run eighty-four trucks, mostly twenty-tonners, and a dozen vans for the city."


def test_hanging_up_mid_reply_stores_the_line_and_stops_the_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    upgrade(settings.effective_database_url)
    h = {"Authorization": f"Bearer {seed_users(settings, {'tina': 'trainee'})['tina']}"}
    # 15 words at 4 a second: almost four seconds for the whole reply.
    with fake_openai(reply=REPLY, tokens_per_s=4.0) as fake:
        env = {"SPIN_TRAINER_ENGINE": "llm", "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "x"}
        server = Server(tmp_path / "data", free_port(), settings.effective_database_url, extra_env=env)
        try:
            with httpx.Client(base_url=server.base, headers=h, timeout=30) as client:
                call = client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}).json()
                url = f"/api/calls/{call['id']}/turns/stream"
                with client.stream("POST", url, json={"text": "How many trucks do you run today?"}) as res:
                    assert res.status_code == 200
                    lines = res.iter_lines()
                    while next(lines) != "event: token":
                        pass
                # the response is closed here, mid-reply: the connection is dropped
                left = time.monotonic()
                turns: list[dict[str, Any]] = []
                while time.monotonic() - left < 10:
                    turns = client.get(f"/api/calls/{call['id']}").json()["turns"]
                    if len(turns) == 3:
                        break
                    time.sleep(0.05)
                stored_after = time.monotonic() - left
                assert [t["role"] for t in turns] == ["client", "trainee", "client"], server.output()
                assert turns[2]["engine"] == "scripted" and turns[2]["notice"] == INTERRUPTED["en"]
                assert stored_after < 2.5, "the model's stream was closed, not read to its end"
                nxt = client.post(f"/api/calls/{call['id']}/turns/stream", json={"text": "And how many vans?"})
                assert nxt.status_code == 200 and "event: done" in nxt.text, "the server goes on serving"
            assert "Traceback" not in server.output()
        finally:
            server.stop()
    assert len(fake.requests) == 2
