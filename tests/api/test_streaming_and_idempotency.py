"""The streamed turn (label first, then tokens, then the stored reply) and idempotent turn posts."""

from __future__ import annotations

import json

from tests.api.conftest import Live


def events(body: str) -> list[tuple[str, dict]]:
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def start(live: Live, who: str = "tina") -> int:
    persona = next(p for p in live.client.get("/api/personas", headers=live.auth(who)).json() if "en" in p["lang"])
    res = live.client.post("/api/calls", json={"persona": persona["id"], "lang": "en"}, headers=live.auth(who))
    return int(res.json()["id"])


def test_stream_sends_label_then_tokens_then_the_stored_reply(live: Live) -> None:
    call_id = start(live)
    res = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": "How do you handle deliveries today?"},
                           headers=live.auth("tina"))
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/event-stream")
    got = events(res.text)
    names = [e for e, _ in got]
    assert names[0] == "trainee" and names[-1] == "done"
    assert set(names[1:-1]) <= {"token"} and len(names) > 2, "the reply arrives in pieces"
    trainee = got[0][1]
    assert trainee["index"] == 1 and trainee["label"] and trainee["letter"]
    done = got[-1][1]
    streamed = "".join(d["text"] for e, d in got if e == "token")
    assert done["client"]["text"] == streamed.strip()
    stored = live.client.get(f"/api/calls/{call_id}", headers=live.auth("tina")).json()
    assert [t["index"] for t in stored["turns"]] == [0, 1, 2]
    assert stored["turns"][2]["text"] == done["client"]["text"]


def test_stream_refuses_bad_input_before_streaming(live: Live) -> None:
    call_id = start(live)
    res = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": "x" * 5000},
                           headers=live.auth("tina"))
    assert res.status_code == 413
    other = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": "hi"}, headers=live.auth("tom"))
    assert other.status_code == 404


def test_same_idempotency_key_is_stored_once_and_answered_the_same(live: Live) -> None:
    call_id = start(live)
    h = {**live.auth("tina"), "Idempotency-Key": "click-1"}
    first = live.client.post(f"/api/calls/{call_id}/turns", json={"text": "How many sites do you run?"}, headers=h)
    second = live.client.post(f"/api/calls/{call_id}/turns", json={"text": "How many sites do you run?"}, headers=h)
    assert first.status_code == second.status_code == 200
    assert first.json()["trainee"] == second.json()["trainee"]
    assert first.json()["client"] == second.json()["client"]
    streamed = live.client.post(f"/api/calls/{call_id}/turns/stream", json={"text": "How many sites do you run?"},
                                headers=h)
    assert events(streamed.text)[0][1]["index"] == first.json()["trainee"]["index"]
    turns = live.client.get(f"/api/calls/{call_id}", headers=live.auth("tina")).json()["turns"]
    assert len(turns) == 3, "one trainee turn and one reply, not three of each"
    other_key = live.client.post(f"/api/calls/{call_id}/turns", json={"text": "How many sites do you run?"},
                                 headers={**live.auth("tina"), "Idempotency-Key": "click-2"})
    assert other_key.json()["trainee"]["index"] == 3


def test_turn_rate_limit_per_trainee(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from tests.api.conftest import seed_users
    from tests.conftest import make_settings
    from trainer.app import create_app
    from trainer.db.migrate import upgrade

    settings = make_settings(tmp_path, turns_per_minute=3)
    upgrade(settings.effective_database_url)
    tokens = seed_users(settings, {"tina": "trainee", "tom": "trainee"})
    with TestClient(create_app(settings)) as client:
        h = {"Authorization": f"Bearer {tokens['tina']}"}
        persona = next(p for p in client.get("/api/personas", headers=h).json() if "en" in p["lang"])
        ids = [client.post("/api/calls", json={"persona": persona["id"], "lang": "en"}, headers=h).json()["id"]
               for _ in range(2)]
        codes = [client.post(f"/api/calls/{ids[n % 2]}/turns", json={"text": "How do you work today?"},
                             headers={**h, "Idempotency-Key": f"k{n}"}).status_code for n in range(3)]
        assert codes == [200, 200, 200]
        limited = client.post(f"/api/calls/{ids[0]}/turns", json={"text": "And how else?"}, headers=h)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1 and "a minute" in limited.json()["detail"]
        streamed = client.post(f"/api/calls/{ids[0]}/turns/stream", json={"text": "And how else?"}, headers=h)
        assert streamed.status_code == 429
        retry = client.post(f"/api/calls/{ids[0]}/turns", json={"text": "How do you work today?"},
                            headers={**h, "Idempotency-Key": "k0"})
        assert retry.status_code == 200, "a retry of a stored line is not counted again"
        other = {"Authorization": f"Bearer {tokens['tom']}"}
        call = client.post("/api/calls", json={"persona": persona["id"], "lang": "en"}, headers=other).json()
        assert client.post(f"/api/calls/{call['id']}/turns", json={"text": "Hi there"},
                           headers=other).status_code == 200, "the limit is per trainee"


def test_the_no_script_form_counts_against_the_same_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from tests.api.conftest import seed_users
    from tests.api.test_web_pages import csrf_of, sign_in
    from tests.conftest import make_settings
    from trainer.app import create_app
    from trainer.db.migrate import upgrade

    settings = make_settings(tmp_path, turns_per_minute=2)
    upgrade(settings.effective_database_url)
    seed_users(settings, {"tina": "trainee"})
    with TestClient(create_app(settings)) as client:
        sign_in(client, "tina")
        home = client.get("/")
        page = client.post("/calls", data={"persona": "logistics-director", "lang": "en",
                                           "csrf_token": csrf_of(home.text)})
        token = csrf_of(page.text)
        codes = [client.post(f"{page.url}/turns", data={"text": f"How many sites, {n}?", "csrf_token": token},
                             follow_redirects=False).status_code for n in range(3)]
    assert codes == [303, 303, 429]


def test_turn_routes_sign_the_caller_in_as_the_other_writes_do(live: Live) -> None:
    """The turn routes look the caller up in the handler's own thread (deps.signed_in_writer): the
    answers must be those of `AuthWrite`: 401 without or with an unknown token, 403 for a browser
    session without its CSRF token, and no line stored by a refused request."""
    from tests.api.test_manage_pages import signed_in
    from tests.api.test_web_pages import csrf_of

    call_id = start(live)
    for route in ("turns", "turns/stream"):
        url = f"/api/calls/{call_id}/{route}"
        anonymous = live.client.post(url, json={"bad": "body"})
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer", route
        unknown = live.client.post(url, json={"text": "Hello"}, headers={"Authorization": "Bearer nope"})
        assert unknown.status_code == 401 and "unknown or revoked" in unknown.json()["detail"], route
    browser = signed_in(live, "tina")
    token = csrf_of(browser.get("/").text)
    for route in ("turns", "turns/stream"):
        url = f"/api/calls/{call_id}/{route}"
        forged = browser.post(url, json={"text": "How many sites do you run?"}, headers={"X-CSRF-Token": "forged"})
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"], route
    stored = live.client.get(f"/api/calls/{call_id}", headers=live.auth("tina")).json()
    assert [t["index"] for t in stored["turns"]] == [0], "a refused request stores nothing"
    ok = browser.post(f"/api/calls/{call_id}/turns", json={"text": "How many sites do you run?"},
                      headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json()["trainee"]["index"] == 1
