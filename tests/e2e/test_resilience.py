"""Several instances on one PostgreSQL serve one call; /healthz follows the database down and back up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import seed_users
from tests.conftest import PG_ADMIN_URL, make_settings, new_pg_database
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_server import Server, free_port
from trainer.db.migrate import upgrade


def pg_url_or_skip() -> str:
    try:
        return new_pg_database()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required in CI: {exc}")
        pytest.skip("no PostgreSQL server at 127.0.0.1:5432")


def test_two_instances_serve_one_call_alternately(tmp_path: Path) -> None:
    url = pg_url_or_skip()
    settings = make_settings(tmp_path, database_url=url)
    upgrade(url)
    token = seed_users(settings, {"tina": "trainee"})["tina"]
    h = {"Authorization": f"Bearer {token}"}
    a = Server(tmp_path / "a", free_port(), url)
    b = Server(tmp_path / "b", free_port(), url)
    try:
        call = httpx.post(f"{a.base}/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=h)
        assert call.status_code == 201, call.text
        call_id = call.json()["id"]
        lines = ["Good morning, this is Alex from Northline Telematics. Am I speaking with the head of the fleet?",
                 "How many trucks do you run today?", "How do you track fuel consumption today?",
                 "Are you happy with the fuel consumption of your trucks?"]
        for n, text in enumerate(lines):
            server = (a, b)[n % 2]
            res = httpx.post(f"{server.base}/api/calls/{call_id}/turns", json={"text": text}, headers=h, timeout=30)
            assert res.status_code == 200, res.text
            assert res.json()["trainee"]["index"] == 1 + 2 * n
        from_a = httpx.get(f"{a.base}/api/calls/{call_id}", headers=h).json()
        from_b = httpx.get(f"{b.base}/api/calls/{call_id}", headers=h).json()
        assert from_a == from_b
        assert [t["index"] for t in from_a["turns"]] == list(range(9))
        assert "Fuel is a sore point" in from_a["turns"][-1]["text"], "state carried across instances"
        card = httpx.post(f"{b.base}/api/calls/{call_id}/end", headers=h).json()["scorecard"]
        assert httpx.post(f"{a.base}/api/calls/{call_id}/end", headers=h).json()["scorecard"] == card
    finally:
        a.stop()
        b.stop()


def test_healthz_answers_503_while_the_database_is_away_and_recovers(tmp_path: Path) -> None:
    url = pg_url_or_skip()
    upgrade(url)
    seed_users(make_settings(tmp_path, database_url=url), {"tina": "trainee"})
    proxy = TcpProxy(int(PG_ADMIN_URL.rsplit(":", 1)[1].split("/")[0]))
    proxy.start()
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    server = Server(tmp_path / "data", free_port(), proxied)
    try:
        assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
        proxy.stop()
        down = httpx.get(f"{server.base}/healthz", timeout=30)
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        proxy.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if httpx.get(f"{server.base}/healthz", timeout=30).status_code == 200:
                break
            time.sleep(0.2)
        assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}, "recovers by itself"
    finally:
        server.stop()
        proxy.stop()
