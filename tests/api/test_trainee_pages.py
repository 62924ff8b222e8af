"""Trainee pages: live coaching, exam mode, "try again from here", my progress, and both languages."""

from __future__ import annotations

import re
from typing import Any

from tests.api.conftest import Live
from tests.api.test_web_pages import csrf_of, sign_in
from trainer.db.models import Call
from trainer.db.session import make_engine, make_sessionmaker
from trainer.personas.director import DirectorState
from trainer.services.branching import replay_state
from trainer.services.personas import persona_of

PERSONA = "logistics-director"


def start(live: Live, who: str = "tina", mode: str = "practice", lang: str = "en") -> dict[str, Any]:
    res = live.client.post("/api/calls", json={"persona": PERSONA, "lang": lang, "mode": mode}, headers=live.auth(who))
    assert res.status_code == 201, res.text
    return dict(res.json())


def say(live: Live, call_id: int, text: str, who: str = "tina") -> dict[str, Any]:
    res = live.client.post(f"/api/calls/{call_id}/turns", json={"text": text}, headers=live.auth(who))
    assert res.status_code == 200, res.text
    return dict(res.json())


def coach(live: Live, call_id: int, who: str = "tina") -> Any:
    return live.client.get(f"/api/calls/{call_id}/coach", headers=live.auth(who))


def follow_hints(live: Live, call_id: int, turns: int) -> list[dict[str, Any]]:
    """Say what the hint button suggests, `turns` times; returns each turn's answer."""
    out = []
    for _ in range(turns):
        hint = coach(live, call_id).json()["hint"]
        if hint is None:
            break
        out.append(say(live, call_id, hint["text"]))
        if out[-1]["ended"]:
            break
    return out


def test_coach_gives_nudges_and_a_hint_of_the_next_spin_type(live: Live) -> None:
    call = start(live)
    first = coach(live, call["id"]).json()
    assert first["nudges"] == [] and first["band"] == [120.0, 300.0]
    assert first["hint"]["kind"] == "situation" and first["hint"]["letter"] == "S"
    labels = [say(live, call["id"], text)["trainee"]["spin"]
              for text in ("How many trucks do you run?", "How do your dispatchers plan routes?",
                           "Who decides on the fleet budget?", "What are your plans for the warehouse?",
                           "How many vans do you have?")]
    advice = coach(live, call["id"]).json()
    if labels.count("situation") > 3 and "problem" not in labels:
        assert "situation_streak" in [n["id"] for n in advice["nudges"]], (labels, advice)
    assert {"situation_streak", "situation_share"} & {n["id"] for n in advice["nudges"]}, (labels, advice)
    assert advice["hint"]["kind"] == "problem", "after the background, the hint moves on to a problem"
    turns = follow_hints(live, call["id"], 8)
    assert turns[-1]["ended"] and turns[-1]["state"]["outcome"] == "meeting_booked", \
        "following the hints books the meeting"
    labels = [t["trainee"]["spin"] for t in turns if t["trainee"]["spin"]]
    assert labels[:3] == ["problem", "implication", "need_payoff"]
    assert coach(live, call["id"]).json()["hint"] is None, "nothing to suggest once the call is over"


def test_coach_is_for_the_own_call_only_and_silent_during_an_exam(live: Live) -> None:
    call = start(live)
    assert coach(live, call["id"], "tom").status_code == 404
    assert coach(live, call["id"], "coach").status_code == 403
    exam = start(live, mode="exam")
    refused = coach(live, exam["id"])
    assert refused.status_code == 409 and "exam" in refused.json()["detail"]
    live.client.post(f"/api/calls/{exam['id']}/end", headers=live.auth("tina"))
    assert coach(live, exam["id"]).status_code == 200


def test_exam_mode_from_the_home_form_hides_labels_until_the_end(live: Live) -> None:
    c = live.client
    sign_in(c, "tina")
    home = c.get("/")
    assert 'name="mode"' in home.text and 'value="exam"' in home.text
    started = c.post("/calls", data={"persona": PERSONA, "lang": "en", "mode": "exam",
                                     "csrf_token": csrf_of(home.text)})
    assert started.status_code == 200
    url = str(started.url)
    token = csrf_of(started.text)
    c.post(f"{url}/turns", data={"text": "How many trucks do you run?", "csrf_token": token})
    during = c.get(url).text
    assert "How many trucks do you run?" in during
    assert 'class="badge' not in during and 'id="coach"' not in during and 'id="hint-button"' not in during
    assert 'data-hide-labels="true"' in during
    c.post(f"{url}/end", data={"csrf_token": token})
    after = c.get(url).text
    assert 'class="badge badge-situation"' in after and 'id="scorecard"' in after


def test_try_again_from_here_keeps_earlier_turns_and_replays_the_state(live: Live) -> None:
    call = start(live)
    states = {0: call["state"]}
    for answer in follow_hints(live, call["id"], 4):
        states[answer["trainee"]["index"]] = answer["state"]
    live.client.post(f"/api/calls/{call['id']}/end", headers=live.auth("tina"))
    c = live.client
    sign_in(c, "tina")
    page = c.get(f"/calls/{call['id']}")
    assert page.text.count(f'action="/calls/{call["id"]}/branch"') == 4, "every trainee line offers a retry"
    at = 5  # the third trainee line: keep the pick-up and two exchanges
    res = c.post(f"/calls/{call['id']}/branch", data={"turn": str(at), "csrf_token": csrf_of(page.text)},
                 follow_redirects=False)
    assert res.status_code == 303
    new_id = int(re.search(r"/calls/(\d+)", res.headers["location"]).group(1))  # type: ignore[union-attr]
    child = c.get(f"/api/calls/{new_id}").json()
    parent = c.get(f"/api/calls/{call['id']}").json()
    assert child["parent_call_id"] == call["id"] and child["branched_at"] == at and not child["ended"]
    assert [(t["role"], t["text"], t.get("label")) for t in child["turns"]] == \
           [(t["role"], t["text"], t.get("label")) for t in parent["turns"][:at]]
    assert child["state"] == states[at - 2], "the replayed director state equals the original one at that point"
    engine = make_engine(live.settings.effective_database_url)
    with make_sessionmaker(engine)() as db:
        original = db.get(Call, call["id"])
        assert original is not None
        persona = persona_of(original.persona_version)
        full = replay_state(persona, "en", original.seed, original.turns)
        assert full.admitted_pains == DirectorState.from_dict(states[max(states)]).admitted_pains
    engine.dispose()
    went_on = say(live, new_id, "What does that cost you over a year?")
    assert went_on["trainee"]["index"] == at and went_on["client"] is not None
    assert c.post(f"/calls/{call['id']}/branch", data={"turn": "2", "csrf_token": csrf_of(page.text)}
                  ).status_code == 422, "a client line is no branch point"
    other = start(live, "tom")
    live.client.post(f"/api/calls/{other['id']}/end", headers=live.auth("tom"))
    assert c.post(f"/calls/{other['id']}/branch", data={"turn": "1", "csrf_token": csrf_of(page.text)}
                  ).status_code == 404


def test_progress_shows_totals_mix_meetings_and_personas(live: Live) -> None:
    booked = start(live)
    follow_hints(live, booked["id"], 12)
    short = start(live)
    say(live, short["id"], "How many trucks do you run?")
    live.client.post(f"/api/calls/{short['id']}/end", headers=live.auth("tina"))
    c = live.client
    sign_in(c, "tina")
    page = c.get("/progress")
    assert page.status_code == 200
    assert page.text.count('class="chart totals"') == 1 and page.text.count('class="chart bars"') == 1
    meetings = re.search(r'id="meetings"><span class="stat-value">(\d+)<', page.text)
    assert meetings and meetings.group(1) == "1"
    assert "Sergey Volkov" in page.text and "50%" in page.text
    card = c.get(f"/calls/{short['id']}").text
    assert 'class="chart timeline"' in card and 'href="#turn-1"' in card
    assert card.count('href="/calls/') >= 2, "the scorecard compares with the earlier call on this persona"
    assert c.get("/progress", headers={"Accept": "text/html"}).status_code == 200
    c.cookies.clear()
    assert c.get("/progress", follow_redirects=False).headers["location"] == "/login"


SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def visible(html: str) -> str:
    """Text a person sees or hears: element text plus aria-label, title and alt values."""
    attrs = " ".join(re.findall(r'(?:aria-label|title|alt|placeholder)="([^"]*)"', html))
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body) + " " + attrs


def test_every_trainee_page_is_translated_in_both_languages(live: Live) -> None:
    done = start(live)
    follow_hints(live, done["id"], 12)
    going = start(live)
    say(live, going["id"], "We offer the best fleet tracking; buy it now!")
    c = live.client
    sign_in(c, "tina")
    pages = ["/", "/progress", f"/calls/{done['id']}", f"/calls/{going['id']}", "/calls/999999"]
    for lang in ("en", "ru"):
        c.get(f"/lang/{lang}?next=/")
        for path in pages:
            html = c.get(path).text
            text = visible(html)
            leaks = sorted(set(SNAKE.findall(text)) & set(live.client.app.state.ctx.messages)  # type: ignore[attr-defined]
                           | {w for w in SNAKE.findall(text) if w.startswith(("label_", "nav_", "mode_", "check_",
                                                                              "outcome_", "role_", "progress_"))})
            assert not leaks, f"{lang} {path}: untranslated keys {leaks}"
            if lang == "ru":
                nav = re.search(r"<nav.*?</nav>", html, re.S)
                heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
                assert nav and CYRILLIC.search(nav.group(0)), path
                assert heading and CYRILLIC.search(heading.group(1)), f"{path}: {heading}"
    c.cookies.clear()
    for lang in ("en", "ru"):
        html = c.get("/login", headers={"Accept-Language": lang}).text
        assert not set(SNAKE.findall(visible(html))) & set(live.client.app.state.ctx.messages)  # type: ignore[attr-defined]
