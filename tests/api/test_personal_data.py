"""A user downloads all their data; an admin deletes a user with their calls, and it is audited."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.conftest import Live
from trainer.db.models import AuditEntry, Call, Turn
from trainer.db.session import make_engine, make_sessionmaker


def make_call(live: Live, who: str) -> int:
    persona = next(p for p in live.client.get("/api/personas", headers=live.auth(who)).json() if "en" in p["lang"])
    call = live.client.post("/api/calls", json={"persona": persona["id"], "lang": "en"}, headers=live.auth(who))
    call_id = int(call.json()["id"])
    live.client.post(f"/api/calls/{call_id}/turns", json={"text": "How do you run deliveries today?"},
                     headers=live.auth(who))
    live.client.post(f"/api/calls/{call_id}/end", headers=live.auth(who))
    return call_id


def test_export_holds_my_calls_and_nobody_elses(live: Live) -> None:
    mine = make_call(live, "tina")
    make_call(live, "tom")
    res = live.client.get("/api/me/export", headers=live.auth("tina"))
    assert res.status_code == 200
    assert "attachment" in res.headers["content-disposition"]
    data = res.json()
    assert data["user"]["name"] == "tina"
    assert [c["id"] for c in data["calls"]] == [mine]
    call = data["calls"][0]
    assert call["turns"][1]["text"] == "How do you run deliveries today?"
    assert call["scorecards"] and call["scorecards"][0]["data"]["total"] >= 0
    assert data["api_tokens"] and all("token" not in t for t in data["api_tokens"])
    assert live.tokens["tina"] not in res.text


def test_admin_deletes_a_user_with_their_calls(live: Live) -> None:
    call_id = make_call(live, "tom")
    assert live.client.delete("/api/users/tom", headers=live.auth("coach")).status_code == 403
    assert live.client.delete("/api/users/tom", headers=live.auth("tina")).status_code == 403
    res = live.client.delete("/api/users/tom", headers=live.auth("admin"))
    assert res.status_code == 200 and res.json()["deleted"]["calls_deleted"] == 1
    assert live.client.get("/api/calls", headers=live.auth("tom")).status_code == 401, "the token is gone too"
    assert live.client.delete("/api/users/tom", headers=live.auth("admin")).status_code == 404
    assert live.client.delete("/api/users/admin", headers=live.auth("admin")).status_code == 409
    engine = make_engine(live.settings.effective_database_url)
    with make_sessionmaker(engine)() as db:
        assert db.get(Call, call_id) is None
        assert db.scalars(select(Turn).where(Turn.call_id == call_id)).all() == []
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.delete")).one()
        assert entry.target == "user:tom" and entry.detail["calls_deleted"] == 1
    engine.dispose()
