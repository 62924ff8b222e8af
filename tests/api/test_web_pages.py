"""The web shell: first setup, sign-in with CSRF, a practice call through the forms, headers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Live
from trainer.app import create_app
from trainer.config import Settings
from trainer.db.migrate import upgrade

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    res = client.post("/login", data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert res.status_code == 303, res.text


def test_first_start_prints_a_one_time_link_and_blocks_everything_else(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(settings.effective_database_url)
    with TestClient(create_app(settings)) as client:
        link = re.search(r"(http://\S+/setup\?token=(\S+))", capsys.readouterr().out)
        assert link, "the setup link is printed on the console"
        token = link.group(2)
        assert client.get("/api/personas").status_code == 503
        assert "setup link" in client.get("/api/calls").json()["detail"]
        assert client.get("/healthz").status_code == 200
        assert client.get("/setup?token=wrong").status_code == 403
        page = client.get(f"/setup?token={token}")
        assert page.status_code == 200
        no_csrf = client.post("/setup", data={"token": token, "name": "boss", "password": "long enough pw"})
        assert no_csrf.status_code == 403
        short = client.post("/setup", data={"token": token, "name": "boss", "password": "short",
                                            "csrf_token": csrf_of(page.text)})
        assert short.status_code == 422 and "8 characters" in short.text
        done = client.post("/setup", data={"token": token, "name": "boss", "password": "long enough pw",
                                           "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert done.status_code == 303
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        home = client.get("/")
        assert home.status_code == 200 and "boss" in home.text
        client.cookies.clear()
        again = client.get(f"/setup?token={token}", follow_redirects=False)
        assert again.status_code == 303, "the link works only once"


def test_sign_in_and_practise_through_forms(live: Live) -> None:
    c = live.client
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    page = c.get("/login")
    bad = c.post("/login", data={"name": "tina", "password": "wrong password", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 401
    sign_in(c, "tina")
    home = c.get("/")
    assert home.status_code == 200
    persona = re.search(r'name="persona" value="([^"]+)"', home.text)
    assert persona
    started = c.post("/calls", data={"persona": persona.group(1), "lang": "en", "csrf_token": csrf_of(home.text)},
                     follow_redirects=False)
    assert started.status_code == 303
    call_url = started.headers["location"]
    practice = c.get(call_url)
    assert practice.status_code == 200 and 'id="say"' in practice.text
    token = csrf_of(practice.text)
    said = c.post(f"{call_url}/turns", data={"text": "How do you organise deliveries today?", "csrf_token": token},
                  follow_redirects=False)
    assert said.status_code == 303
    page = c.get(call_url)
    assert "How do you organise deliveries today?" in page.text
    assert 'class="badge badge-' in page.text, "the trainee's question carries its label badge"
    ended = c.post(f"{call_url}/end", data={"csrf_token": token}, follow_redirects=False)
    assert ended.status_code == 303
    record = c.get(call_url)
    assert 'id="scorecard"' in record.text and 'id="say"' not in record.text


def test_session_api_calls_need_the_csrf_header(live: Live) -> None:
    c = live.client
    sign_in(c, "tina")
    persona = c.get("/api/personas").json()[0]
    body = {"persona": persona["id"], "lang": persona["lang"][0]}
    refused = c.post("/api/calls", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    token = csrf_of(c.get("/").text)
    assert c.post("/api/calls", json=body, headers={"X-CSRF-Token": token}).status_code == 201


def test_forms_refuse_a_missing_csrf_token(live: Live) -> None:
    c = live.client
    sign_in(c, "tina")
    persona = c.get("/api/personas").json()[0]
    res = c.post("/calls", data={"persona": persona["id"], "lang": "en"})
    assert res.status_code == 403


def test_security_headers_and_escaping(live: Live) -> None:
    res = live.client.get("/login")
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in res.headers["content-security-policy"]
    assert res.headers["x-content-type-options"] == "nosniff"
    sign_in(live.client, "tina")
    home = live.client.get("/")
    persona = re.search(r'name="persona" value="([^"]+)"', home.text)
    assert persona
    started = live.client.post("/calls", data={"persona": persona.group(1), "lang": "en",
                                               "csrf_token": csrf_of(home.text)})
    call_url = str(started.url)
    live.client.post(f"{call_url}/turns", data={"text": "<script>alert(1)</script>",
                                                "csrf_token": csrf_of(started.text)})
    page = live.client.get(call_url).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_language_switch_is_remembered(live: Live) -> None:
    c = live.client
    assert "Sign in" in c.get("/login", headers={"Accept-Language": "en"}).text
    assert "Войти" in c.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).text
    c.get("/lang/ru?next=/login")
    assert "Войти" in c.get("/login", headers={"Accept-Language": "en"}).text
    outside = c.get("/lang/en?next=//evil.example", follow_redirects=False)
    assert outside.headers["location"] == "/"
