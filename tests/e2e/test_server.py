"""A real server on loopback, driven over HTTP: first admin from the printed link, a whole call by
bearer token, and the transcript still there after a restart. The CLI runs as a user would run it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database_url

EXE = str(Path(sys.executable).parent / "spin-trainer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIN_TRAINER_", "OPENAI_"))}
    env.update(SPIN_TRAINER_DATA_DIR=str(data), SPIN_TRAINER_ENGINE="scripted")
    if database_url:
        env["SPIN_TRAINER_DATABASE_URL"] = database_url
    return env


def cli(data: Path, *args: str, stdin: str | None = None, database_url: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True,
                          env=env_for(data, database_url), timeout=60)


class Server:
    def __init__(self, data: Path, port: int, database_url: str | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        data.mkdir(parents=True, exist_ok=True)
        self.log = data / f"server-{port}-{time.monotonic_ns()}.log"
        self.out = open(self.log, "w")  # noqa: SIM115
        self.proc = subprocess.Popen([EXE, "serve", "--port", str(port)], stdout=self.out,
                                     stderr=subprocess.STDOUT, env={**env_for(data, database_url),
                                                                    **(extra_env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def output(self) -> str:
        self.out.flush()
        return self.log.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.out.close()


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return fresh_database_url(tmp_path)


def test_fresh_server_setup_call_and_restart(data: Path, db_url: str) -> None:
    port = free_port()
    server = Server(data, port, db_url)
    try:
        link = None
        for _ in range(50):
            found = re.search(r"(http://127\.0\.0\.1:\d+/setup\?token=\S+)", server.output())
            if found:
                link = found.group(1)
                break
            time.sleep(0.1)
        assert link, server.output()
        with httpx.Client(base_url=server.base, follow_redirects=False) as browser:
            page = browser.get(link)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf
            token = link.split("token=")[1]
            res = browser.post("/setup", data={"token": token, "name": "boss", "password": "a long password",
                                               "csrf_token": csrf.group(1)})
            assert res.status_code == 303
            assert browser.get("/").status_code == 200
        added = cli(data, "users", "add", "tina", "--role", "trainee", "--password-stdin",
                    stdin="tina's password\n", database_url=db_url)
        assert added.returncode == 0, added.stderr
        made = cli(data, "tokens", "create", "tina", database_url=db_url)
        assert made.returncode == 0, made.stderr
        bearer = made.stdout.strip()
        assert "\n" not in bearer and bearer.startswith("spt_"), "only the token is printed"
        h = {"Authorization": f"Bearer {bearer}"}
        personas = httpx.get(f"{server.base}/api/personas", headers=h).json()
        persona = next(p for p in personas if "en" in p["lang"])
        call = httpx.post(f"{server.base}/api/calls", json={"persona": persona["id"], "lang": "en"}, headers=h)
        assert call.status_code == 201
        call_id = call.json()["id"]
        for text in ("Hello, this is Sam from Brightway. Am I speaking with the person in charge of purchasing?",
                     "How do you handle this today?", "Are you satisfied with how it works?"):
            res = httpx.post(f"{server.base}/api/calls/{call_id}/turns", json={"text": text}, headers=h)
            assert res.status_code in (200, 409), res.text
            if res.status_code == 409 or res.json()["ended"]:
                break
        card = httpx.post(f"{server.base}/api/calls/{call_id}/end", headers=h).json()["scorecard"]
        assert 0 <= card["total"] <= 100
        before = httpx.get(f"{server.base}/api/calls/{call_id}", headers=h).json()
    finally:
        server.stop()

    again = Server(data, free_port(), db_url)
    try:
        assert "setup?token=" not in again.output(), "no setup link once an account exists"
        after = httpx.get(f"{again.base}/api/calls/{call_id}", headers=h).json()
        assert after["turns"] == before["turns"] and after["scorecard"] == card
    finally:
        again.stop()


def test_config_masks_secrets(data: Path) -> None:
    env_key = "sk-test-" + "x" * 40
    res = subprocess.run([EXE, "config"], capture_output=True, text=True, timeout=60,
                         env={**env_for(data), "OPENAI_API_KEY": env_key,
                              "SPIN_TRAINER_SECRET_KEY": "k" * 48})
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert env_key not in res.stdout and "k" * 48 not in res.stdout
    assert shown["effective_engine"] == "scripted", "an explicit ENGINE wins over auto"
    auto = subprocess.run([EXE, "config"], capture_output=True, text=True, timeout=60,
                          env={**env_for(data), "SPIN_TRAINER_ENGINE": "auto", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert json.loads(auto.stdout)["effective_engine"] == "llm"


def test_placeholder_secret_is_refused(data: Path) -> None:
    res = subprocess.run([EXE, "serve", "--port", str(free_port())], capture_output=True, text=True, timeout=60,
                         env={**env_for(data), "SPIN_TRAINER_SECRET_KEY": "changeme"})
    assert res.returncode != 0
    assert "SPIN_TRAINER_SECRET_KEY" in res.stderr
