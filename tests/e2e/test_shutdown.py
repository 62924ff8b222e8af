"""On SIGTERM an in-flight turn finishes and is stored before the server exits."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from tests.api.conftest import seed_users
from tests.conftest import make_settings
from tests.e2e.test_server import Server, free_port
from tests.fakes.openai_server import fake_openai
from trainer.db.migrate import upgrade


def test_sigterm_lets_the_turn_in_flight_finish(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    upgrade(settings.effective_database_url)
    token = seed_users(settings, {"tina": "trainee"})["tina"]
    h = {"Authorization": f"Bearer {token}"}
    with fake_openai(mode="slow", delay_s=2.0, reply="We run eighty-four trucks.") as fake:
        env = {"SPIN_TRAINER_ENGINE": "llm", "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "x",
               "SPIN_TRAINER_LLM_TIMEOUT_S": "10"}
        server = Server(tmp_path / "data", free_port(), settings.effective_database_url, extra_env=env)
        try:
            call = httpx.post(f"{server.base}/api/calls", json={"persona": "logistics-director", "lang": "en"},
                              headers=h, timeout=30).json()
            result: dict[str, httpx.Response] = {}

            def send() -> None:
                result["res"] = httpx.post(f"{server.base}/api/calls/{call['id']}/turns",
                                           json={"text": "How many trucks do you run today?"}, headers=h, timeout=30)

            worker = threading.Thread(target=send)
            worker.start()
            deadline = time.monotonic() + 20
            while not fake.requests and time.monotonic() < deadline:  # wait until the reply is being made
                worker.join(0.05)
            assert fake.requests, "the turn reached the model"
            server.proc.send_signal(signal.SIGTERM)
            worker.join(30)
            assert result["res"].status_code == 200
            assert result["res"].json()["client"]["text"] == "We run eighty-four trucks."
            # uvicorn re-raises SIGTERM after a clean shutdown, so -15 is a normal exit here
            assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)
        finally:
            server.stop()
    again = Server(tmp_path / "data", free_port(), settings.effective_database_url)
    try:
        stored = httpx.get(f"{again.base}/api/calls/{call['id']}", headers=h).json()
        assert [t["role"] for t in stored["turns"]] == ["client", "trainee", "client"]
        assert stored["turns"][2]["engine"] == "llm"
    finally:
        again.stop()
