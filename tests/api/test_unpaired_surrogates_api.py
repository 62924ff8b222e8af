"""A line with half of a UTF-16 pair (JSON lets one in as "\\ud800") is refused with a 422 that names it,
on both JSON routes that take a line; nothing is stored and the call goes on. (A form cannot carry one:
its bytes are UTF-8.)"""

from __future__ import annotations

import json

from tests.api.conftest import Live
from tests.api.test_calls_api import first_persona

LINE = "How many trucks \ud800 do you run?"
NAMED = "unpaired UTF-16 surrogate (\\ud800) at character 17"


def test_a_line_with_an_unpaired_surrogate_is_refused_everywhere(live: Live) -> None:
    persona = first_persona(live)
    h = live.auth("tina")
    call = live.client.post("/api/calls", json={"persona": persona["id"], "lang": persona["lang"][0]},
                            headers=h).json()
    turns = f"/api/calls/{call['id']}/turns"
    body = json.dumps({"text": LINE})  # ASCII JSON, the surrogate escaped, as a client would send it
    h = {**h, "Content-Type": "application/json"}
    plain = live.client.post(turns, content=body, headers=h)
    assert plain.status_code == 422 and NAMED in plain.json()["detail"]
    streamed = live.client.post(f"{turns}/stream", content=body, headers=h)
    assert streamed.status_code == 422 and NAMED in streamed.json()["detail"]
    assert len(live.client.get(f"/api/calls/{call['id']}", headers=h).json()["turns"]) == 1
    fine = live.client.post(turns, json={"text": "How many trucks do you run?"}, headers=h)
    assert fine.status_code == 200 and fine.json()["trainee"]["label"] == "situation"


def test_any_other_field_with_one_gets_a_422_not_a_crash(live: Live) -> None:
    h = {**live.auth("tina"), "Content-Type": "application/json"}
    res = live.client.post("/api/calls", content=json.dumps({"persona": "no-time\udc01", "lang": "en"}), headers=h)
    assert res.status_code == 422
    assert res.json()["detail"] == ("the request holds text with an unpaired UTF-16 surrogate (\\udc01); "
                                    "send valid Unicode text")


def test_a_transcript_with_one_is_refused_with_the_turn_named(live: Live) -> None:
    turns = [{"role": "client", "text": "Hello"}, {"role": "trainee", "text": LINE}]
    res = live.client.post("/api/score", content=json.dumps({"turns": turns, "lang": "en"}),
                           headers={**live.auth("tina"), "Content-Type": "application/json"})
    assert res.status_code == 422 and res.json()["detail"].startswith(f"turns[1].text has an {NAMED}")
