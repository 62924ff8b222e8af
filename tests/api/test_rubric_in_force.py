"""A rubric version saved by a trainer is the one new scorecards use; older scorecards keep theirs."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.conftest import Live
from trainer.db.models import User
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
from trainer.scoring.rubric import default_rubric_path, load_rubric
from trainer.services import rubric_admin


def one_call(live: Live) -> dict:
    h = live.auth("tina")
    call = live.client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=h).json()
    live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "How many trucks do you run today?"}, headers=h)
    return live.client.post(f"/api/calls/{call['id']}/end", headers=h).json()["scorecard"]


def test_saved_rubric_version_scores_new_calls(live: Live) -> None:
    before = one_call(live)
    base = load_rubric(default_rubric_path())
    assert before["rubric"] == {"id": base.id, "version": base.version}
    text = default_rubric_path().read_text(encoding="utf-8").replace("pass_mark: 60", "pass_mark: 99")
    assert "pass_mark: 99" in text
    engine = make_engine(live.settings.effective_database_url)
    with unit_of_work(make_sessionmaker(engine)) as db:
        coach = db.scalars(select(User).where(User.name == "coach")).one()
        rubric_admin.save(db, coach, text, base)
    engine.dispose()
    after = one_call(live)
    assert after["rubric"] == {"id": base.id, "version": base.version + 1}
    assert after["passed"] is False
