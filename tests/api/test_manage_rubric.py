"""Rubric editor: errors at the line, a rescoring preview that saves nothing, new versions, rescoring adds rows."""

from __future__ import annotations

import html
import re

from tests.api.conftest import Live
from tests.api.test_manage_pages import make_call, signed_in
from tests.api.test_manage_personas import audit_actions
from tests.api.test_web_pages import csrf_of
from trainer.db.models import RubricVersion, Scorecard
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
from trainer.scoring.rubric import load_rubric
from trainer.services.rubric_admin import current_rubric


def editor_text(page: str) -> str:
    found = re.search(r'<textarea id="yaml_text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))


def test_edit_preview_save_and_rescore(live: Live) -> None:
    call_id = make_call(live)
    client = signed_in(live, "coach")
    page = client.get("/manage/rubric")
    assert page.status_code == 200
    token = csrf_of(page.text)
    text = editor_text(page.text)
    assert "pass_mark: 60" in text
    lines = text.split("\n")
    weight_at = next(i for i, ln in enumerate(lines) if ln.strip() == "weight: 15")
    broken = "\n".join([*lines[:weight_at], lines[weight_at].replace("15", "16"), *lines[weight_at + 1:]])
    bad = client.post("/manage/rubric", data={"yaml_text": broken, "action": "save", "csrf_token": token})
    assert bad.status_code == 422 and "add up to 101" in bad.text
    assert 'class="bad"' in bad.text and "weight: 16" in editor_text(bad.text)
    typo = text.replace("pass_mark: 60", "pass_mark: 60\npas_mark: 1")
    at = typo.split("\n").index("pas_mark: 1") + 1
    shown = client.post("/manage/rubric", data={"yaml_text": typo, "action": "preview", "csrf_token": token})
    assert shown.status_code == 422 and f'<li id="line-{at}" class="bad"' in shown.text
    stricter = text.replace("pass_mark: 60", "pass_mark: 95")
    preview = client.post("/manage/rubric", data={"yaml_text": stricter, "action": "preview", "csrf_token": token})
    assert preview.status_code == 200 and f'href="/manage/calls/{call_id}"' in preview.text
    engine = make_engine(live.settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as db:
        assert db.query(RubricVersion).count() == 0, "a preview saves nothing"
    saved = client.post("/manage/rubric", data={"yaml_text": stricter, "action": "save", "csrf_token": token},
                        follow_redirects=False)
    assert saved.status_code == 303
    default = load_rubric(live.settings.rubrics_dir / "spin.yaml")
    with unit_of_work(sessions) as db:
        row = db.query(RubricVersion).one()
        assert row.version == default.version + 1 and f"version: {row.version}" in row.yaml_text
        now = current_rubric(db, default)
        assert now.pass_mark == 95 and now.version == row.version
        before = [(s.id, s.total, s.rubric_version) for s in db.query(Scorecard).filter_by(call_id=call_id)]
    assert len(before) == 1 and before[0][2] == default.version
    client.post("/manage/rubric/rescore", data={"csrf_token": token})
    client.post("/manage/rubric/rescore", data={"csrf_token": token})
    with unit_of_work(sessions) as db:
        after = [(s.id, s.total, s.rubric_version) for s in db.query(Scorecard).filter_by(call_id=call_id)
                 .order_by(Scorecard.id)]
    engine.dispose()
    assert after[0] == before[0], "the old scorecard is untouched"
    assert len(after) == 2 and after[1][2] == default.version + 1, "one new row per new rubric version"
    assert "v2" in client.get("/manage/rubric").text
    assert [a for a, _ in audit_actions(live)] == ["rubric.save", "rubric.rescore", "rubric.rescore"]


def test_the_rubric_id_cannot_change(live: Live) -> None:
    client = signed_in(live, "coach")
    page = client.get("/manage/rubric")
    text = editor_text(page.text).replace("id: spin-cold-call", "id: other-rubric")
    res = client.post("/manage/rubric", data={"yaml_text": text, "action": "save", "csrf_token": csrf_of(page.text)})
    assert res.status_code == 422 and "keeps the rubric id" in res.text
