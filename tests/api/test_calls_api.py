"""The JSON API contract of calls, over a real app and a temporary SQLite file."""

from __future__ import annotations

from tests.api.conftest import Live


def first_persona(live: Live) -> dict:
    res = live.client.get("/api/personas", headers=live.auth("tina"))
    assert res.status_code == 200
    personas = res.json()
    assert personas, "the shipped personas should be listed"
    return personas[0]


def test_healthz(live: Live) -> None:
    assert live.client.get("/healthz").json() == {"status": "ok"}


def test_personas_shape(live: Live) -> None:
    res = live.client.get("/api/personas", headers=live.auth("tina"))
    for p in res.json():
        assert set(p) == {"id", "name", "role", "lang", "difficulty", "summary"}
        assert set(p["lang"]) <= {"ru", "en"} and p["lang"]
        assert p["name"] and p["summary"]


def test_unauthenticated_gets_401(live: Live) -> None:
    for path in ("/api/personas", "/api/calls", "/api/calls/1"):
        res = live.client.get(path)
        assert res.status_code == 401
        assert "Bearer" in res.json()["detail"]
    bad = live.client.get("/api/calls", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_whole_call_over_the_api(live: Live) -> None:
    persona = first_persona(live)
    lang = persona["lang"][0]
    res = live.client.post("/api/calls", json={"persona": persona["id"], "lang": lang}, headers=live.auth("tina"))
    assert res.status_code == 201, res.text
    call = res.json()
    assert call["ended"] is False and call["persona"] == persona["id"] and call["lang"] == lang
    assert call["turns"] and call["turns"][0]["role"] == "client", "the client picks up first"
    lines = {"en": ["Good morning, this is Alex from Northline. Who handles purchasing at your company?",
                    "How do you handle this today?",
                    "What difficulties do you have with it?"],
             "ru": ["Добрый день, меня зовут Алексей, компания «Северная линия». Кто у вас отвечает за закупки?",
                    "Как вы сейчас это организуете?",
                    "С какими трудностями вы сталкиваетесь?"]}[lang]
    ended = False
    for n, text in enumerate(lines):
        res = live.client.post(f"/api/calls/{call['id']}/turns", json={"text": text}, headers=live.auth("tina"))
        if ended:
            assert res.status_code == 409
            break
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["trainee"]["text"] == text
        assert body["trainee"]["index"] == 1 + 2 * n
        assert body["trainee"]["label"]
        assert 0.0 <= body["trainee"]["confidence"] <= 1.0
        assert body["client"] is None or body["client"]["text"]
        ended = body["ended"]
    res = live.client.post(f"/api/calls/{call['id']}/end", headers=live.auth("tina"))
    assert res.status_code == 200
    card = res.json()["scorecard"]
    assert 0 <= card["total"] <= 100
    assert {"total", "passed", "level", "outcome", "counts", "criteria", "checks", "rubric"} <= set(card)
    again = live.client.post(f"/api/calls/{call['id']}/end", headers=live.auth("tina"))
    assert again.json()["scorecard"] == card, "ending twice returns the same scorecard"
    stored = live.client.get(f"/api/calls/{call['id']}", headers=live.auth("tina")).json()
    assert stored["ended"] is True and stored["scorecard"] == card
    assert stored["user"] == "tina"
    assert [t["index"] for t in stored["turns"]] == list(range(len(stored["turns"])))
    late = live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "Hello?"}, headers=live.auth("tina"))
    assert late.status_code == 409
    assert "ended" in late.json()["detail"]


def test_a_new_call_is_answered_as_it_is_stored(live: Live) -> None:
    """The call start answers from what it wrote, without reading the call back: the answer must be what
    reading it gives, times included (one ISO format with the UTC offset, whatever the database)."""
    persona = first_persona(live)
    made = live.client.post("/api/calls", json={"persona": persona["id"], "lang": persona["lang"][0]},
                            headers=live.auth("tina")).json()
    stored = live.client.get(f"/api/calls/{made['id']}", headers=live.auth("tina")).json()
    assert made == stored
    for moment in (made["started_at"], made["turns"][0]["created_at"]):
        assert moment.endswith("+00:00"), moment


def test_another_trainee_gets_404_and_trainer_sees_all(live: Live) -> None:
    persona = first_persona(live)
    call = live.client.post("/api/calls", json={"persona": persona["id"], "lang": persona["lang"][0]},
                            headers=live.auth("tina")).json()
    other = live.client.get(f"/api/calls/{call['id']}", headers=live.auth("tom"))
    assert other.status_code == 404
    assert live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "hi"},
                            headers=live.auth("tom")).status_code == 404
    assert live.client.get(f"/api/calls/{call['id']}", headers=live.auth("coach")).status_code == 200
    assert live.client.get(f"/api/calls/{call['id']}", headers=live.auth("admin")).status_code == 200
    toms = live.client.get("/api/calls", headers=live.auth("tom")).json()
    assert toms["total"] == 0 and toms["items"] == []
    coach = live.client.get("/api/calls", headers=live.auth("coach")).json()
    assert [c["id"] for c in coach["items"]] == [call["id"]]


def test_calls_list_newest_first_and_paginated(live: Live) -> None:
    persona = first_persona(live)
    ids = [live.client.post("/api/calls", json={"persona": persona["id"], "lang": persona["lang"][0]},
                            headers=live.auth("tina")).json()["id"] for _ in range(3)]
    page = live.client.get("/api/calls?limit=2", headers=live.auth("tina")).json()
    assert page["total"] == 3
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    rest = live.client.get("/api/calls?limit=2&offset=2", headers=live.auth("tina")).json()
    assert [c["id"] for c in rest["items"]] == [ids[0]]


def test_bad_input_gets_clear_errors(live: Live) -> None:
    persona = first_persona(live)
    h = live.auth("tina")
    call = live.client.post("/api/calls", json={"persona": persona["id"], "lang": persona["lang"][0]},
                            headers=h).json()
    huge = live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "a" * 50_000}, headers=h)
    assert huge.status_code in (413, 422)
    assert "2000" in huge.json()["detail"]
    empty = live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "  \n\t "}, headers=h)
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    missing = live.client.post(f"/api/calls/{call['id']}/turns", json={}, headers=h)
    assert missing.status_code == 422 and "text" in missing.json()["detail"]
    unknown = live.client.post("/api/calls", json={"persona": "nobody", "lang": "en"}, headers=h)
    assert unknown.status_code == 404 and "/api/personas" in unknown.json()["detail"]
    bad_lang = live.client.post("/api/calls", json={"persona": persona["id"], "lang": "de"}, headers=h)
    assert bad_lang.status_code == 422 and "lang" in bad_lang.json()["detail"]
    nothing = live.client.get("/api/calls/999999", headers=h)
    assert nothing.status_code == 404
    # no turn was lost or added by the refused requests
    stored = live.client.get(f"/api/calls/{call['id']}", headers=h).json()
    assert len(stored["turns"]) == 1


def test_control_characters_are_dropped(live: Live) -> None:
    persona = first_persona(live)
    h = live.auth("tina")
    call = live.client.post("/api/calls", json={"persona": persona["id"], "lang": persona["lang"][0]},
                            headers=h).json()
    res = live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "Hello\x00\x07 there 👋"}, headers=h)
    assert res.status_code == 200
    assert res.json()["trainee"]["text"] == "Hello there 👋"


def test_openapi_documents_the_api(live: Live) -> None:
    spec = live.client.get("/openapi.json").json()
    for path in ("/healthz", "/api/personas", "/api/calls", "/api/calls/{call_id}", "/api/calls/{call_id}/turns",
                 "/api/calls/{call_id}/end"):
        assert path in spec["paths"]
    assert live.client.get("/docs").status_code == 200
