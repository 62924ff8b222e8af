"""Persona library: YAML errors shown at their line, new versions on save, clone, enable/disable, history."""

from __future__ import annotations

import html
import re

from tests.api.conftest import Live
from tests.api.test_manage_pages import signed_in
from tests.api.test_web_pages import csrf_of
from trainer.db.models import AuditEntry, PersonaVersion
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work


def audit_actions(live: Live) -> list[tuple[str, str]]:
    engine = make_engine(live.settings.effective_database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            return [(e.action, e.target) for e in db.query(AuditEntry).order_by(AuditEntry.id)]
    finally:
        engine.dispose()


def versions_of(live: Live, persona_id: str) -> list[tuple[int, bool]]:
    engine = make_engine(live.settings.effective_database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            rows = db.query(PersonaVersion).filter_by(persona_id=persona_id).order_by(PersonaVersion.version)
            return [(r.version, r.enabled) for r in rows]
    finally:
        engine.dispose()


def test_library_lists_every_persona_with_its_version(live: Live) -> None:
    client = signed_in(live, "coach")
    page = client.get("/manage/personas")
    assert page.status_code == 200
    assert "<code>no-time</code>" in page.text and "v1" in page.text
    assert "gatekeeper" in page.text


def test_a_yaml_error_is_shown_at_its_line_then_fixed(live: Live) -> None:
    client = signed_in(live, "coach")
    form = client.get("/manage/personas/no-time")
    original = re.search(r'<textarea id="yaml_text"[^>]*>(.*?)</textarea>', form.text, re.S)
    assert original
    text = html.unescape(original.group(1))
    lines = text.split("\n")
    at = next(i for i, ln in enumerate(lines) if ln.startswith("difficulty:"))
    broken = "\n".join([*lines[:at], "difficulty: impossible", *lines[at + 1:]])
    token = csrf_of(form.text)
    res = client.post("/manage/personas/no-time", data={"yaml_text": broken, "csrf_token": token})
    assert res.status_code == 422
    line = at + 1
    assert f'<li id="line-{line}" class="bad"' in res.text, "the bad line is marked in the listing"
    listed = res.text.split(f'<li id="line-{line}"', 1)[1].split("</li>", 1)[0]
    assert "difficulty: impossible" in listed and 'class="line-error"' in listed and "difficulty" in listed
    assert f'href="#line-{line}"' in res.text, "the summary links to the line"
    assert "difficulty: impossible" in res.text.split('<textarea id="yaml_text"', 1)[1], "the text is kept"
    assert versions_of(live, "no-time") == [(1, True)], "nothing saved"
    fixed = broken.replace("difficulty: impossible", "difficulty: hard")
    done = client.post("/manage/personas/no-time", data={"yaml_text": fixed, "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/manage/personas/no-time")
    assert versions_of(live, "no-time") == [(1, True), (2, True)]
    assert ("persona.edit", "no-time") in audit_actions(live)
    again = client.post("/manage/personas/no-time", data={"yaml_text": fixed, "csrf_token": token})
    assert again.status_code == 422 and "Nothing changed" in again.text
    history = client.get("/manage/personas/no-time/history")
    assert history.status_code == 200
    assert '<span class="d-del">-difficulty: normal</span>' in history.text
    assert '<span class="d-add">+difficulty: hard</span>' in history.text


def test_create_clone_disable_and_preview(live: Live) -> None:
    client = signed_in(live, "coach")
    token = csrf_of(client.get("/manage/personas/new").text)
    text = ("name: {en: Test Buyer, ru: Тестовый покупатель}\nrole: decision_maker\nlanguages: [en]\n"
            "company: {en: Acme, ru: Акме}\nproduct: {en: a CRM, ru: CRM}\nfirst_lines:\n  en: [\"Hello?\"]\n"
            "  ru: [\"Алло?\"]\n")
    bad_id = client.post("/manage/personas/new", data={"persona_id": "Bad Id", "yaml_text": text,
                                                       "csrf_token": token})
    assert bad_id.status_code == 422 and "lower-case" in bad_id.text
    made = client.post("/manage/personas/new", data={"persona_id": "test-buyer", "yaml_text": text,
                                                     "csrf_token": token}, follow_redirects=False)
    assert made.status_code == 303
    twice = client.post("/manage/personas/new", data={"persona_id": "test-buyer", "yaml_text": text,
                                                      "csrf_token": token})
    assert twice.status_code == 422 and "already exists" in twice.text
    ids = {p["id"] for p in live.client.get("/api/personas", headers=live.auth("tina")).json()}
    assert "test-buyer" in ids
    cloned = client.post("/manage/personas/test-buyer/clone", data={"new_id": "test-buyer-2", "csrf_token": token},
                         follow_redirects=False)
    assert cloned.status_code == 303 and cloned.headers["location"].startswith("/manage/personas/test-buyer-2")
    assert versions_of(live, "test-buyer-2") == [(1, True)]
    off = client.post("/manage/personas/test-buyer/enabled", data={"enabled": "0", "csrf_token": token},
                      follow_redirects=False)
    assert off.status_code == 303
    ids = {p["id"] for p in live.client.get("/api/personas", headers=live.auth("tina")).json()}
    assert "test-buyer" not in ids and "test-buyer-2" in ids, "a disabled persona leaves the list"
    refused = client.post("/manage/personas/test-buyer/preview", data={"lang": "en", "csrf_token": token})
    assert refused.status_code == 404 and "Enable the persona first" in refused.text
    client.post("/manage/personas/test-buyer/enabled", data={"enabled": "1", "csrf_token": token})
    preview = client.post("/manage/personas/test-buyer/preview", data={"lang": "en", "csrf_token": token},
                          follow_redirects=False)
    assert preview.status_code == 303 and preview.headers["location"].startswith("/calls/")
    actions = [a for a, _ in audit_actions(live)]
    assert actions == ["persona.create", "persona.clone", "persona.disable", "persona.enable"]


def test_a_gatekeeper_must_transfer_to_a_known_persona(live: Live) -> None:
    client = signed_in(live, "coach")
    form = client.get("/manage/personas/gatekeeper")
    assert form.status_code == 200
    token = csrf_of(form.text)
    text = re.search(r'<textarea id="yaml_text"[^>]*>(.*?)</textarea>', form.text, re.S)
    assert text and "transfer_to" in text.group(1)
    body = re.sub(r"transfer_to: *\S+", "transfer_to: nobody-here", html.unescape(text.group(1)))
    res = client.post("/manage/personas/gatekeeper", data={"yaml_text": body, "csrf_token": token})
    assert res.status_code == 422 and "nobody-here" in res.text and "gatekeeper.transfer_to" in res.text
