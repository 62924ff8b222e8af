"""Trainer and manager pages: who may open them, CSRF on every form, and no raw locale key in either language."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Live
from tests.api.test_web_pages import csrf_of, sign_in
from trainer.web.i18n import load_messages

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
PAGES = ["/manage/personas", "/manage/personas/new", "/manage/personas/no-time",
         "/manage/personas/no-time/history", "/manage/rubric", "/manage/calls", "/manage/agreement",
         "/manage/dashboard", "/manage/users", "/manage/audit"]
POSTS = {"/manage/personas/new": {"persona_id": "x", "yaml_text": "name: x"},
         "/manage/personas/no-time": {"yaml_text": "name: x"},
         "/manage/personas/no-time/enabled": {"enabled": "0"},
         "/manage/personas/no-time/clone": {"new_id": "copy"},
         "/manage/personas/no-time/preview": {"lang": "en"},
         "/manage/rubric": {"yaml_text": "id: x", "action": "save"},
         "/manage/rubric/rescore": {},
         "/manage/users": {"name": "new", "role": "trainee", "password": "long enough pw"},
         "/manage/users/invite": {"name": "new", "role": "trainee"},
         "/manage/users/3/password": {"password": "long enough pw"},
         "/manage/users/3/active": {"active": "0"}}


def make_call(live: Live, who: str = "tina", persona: str = "no-time", lang: str = "en",
              lines: tuple[str, ...] = ("Good morning, is this the owner?", "How do you book patients today?"),
              end: bool = True) -> int:
    """A practice call over the API as `who`; ended (and scored) unless `end` is False."""
    res = live.client.post("/api/calls", json={"persona": persona, "lang": lang}, headers=live.auth(who))
    assert res.status_code == 201, res.text
    call_id = int(res.json()["id"])
    for text in lines:
        turn = live.client.post(f"/api/calls/{call_id}/turns", json={"text": text}, headers=live.auth(who))
        if turn.status_code == 409:
            break
        assert turn.status_code == 200, turn.text
    if end:
        assert live.client.post(f"/api/calls/{call_id}/end", headers=live.auth(who)).status_code == 200
    return call_id


def signed_in(live: Live, name: str) -> TestClient:
    live.client.cookies.clear()
    sign_in(live.client, name)
    return live.client


def test_anonymous_is_sent_to_sign_in(live: Live) -> None:
    for path in PAGES:
        res = live.client.get(path, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/login", path


def test_trainees_are_refused_everywhere(live: Live) -> None:
    client = signed_in(live, "tina")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf_of(client.get("/").text)
    for path, form in POSTS.items():
        assert client.post(path, data={**form, "csrf_token": token}).status_code == 403, path
    assert client.get("/manage/calls.csv").status_code == 403
    assert client.get("/manage/calls.json").status_code == 403


def test_trainers_may_look_at_users_and_not_change_them_nor_read_the_audit_log(live: Live) -> None:
    client = signed_in(live, "coach")
    page = client.get("/manage/users")
    assert page.status_code == 200 and "tina" in page.text
    assert 'action="/manage/users/invite"' not in page.text
    token = csrf_of(page.text)
    for path in ("/manage/users", "/manage/users/invite", "/manage/users/3/password", "/manage/users/3/active"):
        assert client.post(path, data={**POSTS[path], "csrf_token": token}).status_code == 403, path
    assert client.get("/manage/audit").status_code == 403


def test_every_form_post_needs_the_csrf_token(live: Live) -> None:
    client = signed_in(live, "admin")
    for path, form in POSTS.items():
        assert client.post(path, data=form).status_code == 403, path
        assert client.post(path, data={**form, "csrf_token": "wrong"}).status_code == 403, path
    call_id = make_call(live)
    for path, form in ((f"/manage/calls/{call_id}/turns/1/comment", {"text": "hi"}),
                       (f"/manage/calls/{call_id}/turns/1/label", {"label": "problem"})):
        assert client.post(path, data=form).status_code == 403, path


def test_every_form_on_every_page_carries_the_token(live: Live) -> None:
    call_id = make_call(live)
    client = signed_in(live, "admin")
    for path in [*PAGES, f"/manage/calls/{call_id}"]:
        html = client.get(path).text
        token = csrf_of(html)
        for form in re.findall(r'<form method="post".*?</form>', html, flags=re.S):
            assert f'name="csrf_token" value="{token}"' in form, f"{path}: {form[:120]}"


def template_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*TEMPLATES.joinpath("manage").glob("*.html"), TEMPLATES / "_nav_manage.html"]:
        keys.update(re.findall(r"t\('([a-z_]+)'\)", path.read_text(encoding="utf-8")))
    return keys


def test_every_key_the_templates_use_exists() -> None:
    messages = load_messages(TEMPLATES.parent / "locales")
    missing = sorted(k for k in template_keys() if k not in messages)
    assert not missing


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_manage_page_is_translated(live: Live, lang: str) -> None:
    """Walk every page with data on it; no locale key (m_..., label_..., nav_...) shows up as raw text."""
    call_id = make_call(live)
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/").text)
    client.post(f"/manage/calls/{call_id}/turns/1/label", data={"label": "problem", "csrf_token": token})
    client.post(f"/manage/calls/{call_id}/turns/1/comment", data={"text": "good opener", "csrf_token": token})
    client.post("/manage/personas/no-time", data={"yaml_text": "name: [", "csrf_token": token})
    client.cookies.set("spin_lang", lang)
    messages = load_messages(TEMPLATES.parent / "locales")
    other = "ru" if lang == "en" else "en"
    raw = re.compile(r"(?<![\w/.-])(?:m|label|nav|role)_[a-z_]+(?![\w/.-])")
    pages = [*PAGES, f"/manage/calls/{call_id}", "/manage/calls?outcome=ended_by_trainee",
             "/manage/dashboard?days=7", "/invite?token=nope"]
    for path in pages:
        res = client.get(path)
        assert res.status_code in (200, 403), path
        text = re.sub(r"<[^>]+>", " ", res.text)  # visible text only
        found = [k for k in raw.findall(text) if k in messages or k.startswith("m_")]
        assert not found, f"{path} ({lang}) shows raw keys {found}"
        leaked = [v[other] for k, v in messages.items() if k.startswith("m_") and len(v[other]) > 14
                  and v[other] != v[lang] and v[other] in html.unescape(text)]
        assert not leaked, f"{path} ({lang}) shows text of the other language: {leaked}"
        assert f'<html lang="{lang}">' in res.text
    edit = client.post("/manage/personas/no-time", data={"yaml_text": "name: [", "csrf_token": token})
    assert edit.status_code == 422
    words = {"en": "Line", "ru": "Строка"}[lang]
    assert words in edit.text
