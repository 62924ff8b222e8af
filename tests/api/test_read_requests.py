"""GET requests only read: on SQLite their transactions begin as reads, so a manager's page or a trainee's
call list neither waits for the single writer's place nor holds it up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from tests.api.conftest import Live
from tests.api.test_manage_pages import PAGES, make_call
from tests.api.test_web_pages import sign_in
from trainer.db.session import make_engine


@pytest.fixture
def sqlite_live(live: Live) -> Iterator[Live]:
    if not live.settings.effective_database_url.startswith("sqlite"):
        pytest.skip("the writer's place is SQLite's (PostgreSQL readers never wait for writers)")
    yield live


def _gets(call_id: int) -> list[str]:
    return [*PAGES, "/", f"/calls/{call_id}", "/progress", "/manage/calls.csv", "/manage/calls.json",
            f"/manage/calls/{call_id}", f"/manage/calls/{call_id}.json", "/api/calls", f"/api/calls/{call_id}",
            "/api/me", "/api/me/export", "/api/personas"]


def test_every_get_reads_without_taking_the_writers_place(sqlite_live: Live) -> None:
    live = sqlite_live
    call_id = make_call(live)
    sign_in(live.client, "admin")
    engine = live.client.app.state.ctx.db_engine  # type: ignore[attr-defined]
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    for path in _gets(call_id):
        sent.clear()
        res = live.client.get(path, headers=live.auth("admin") if path.startswith("/api/") else {})
        assert res.status_code == 200, (path, res.status_code, res.text[:300])
        begins = [s for s in sent if s.startswith("BEGIN")]
        assert begins and set(begins) == {"BEGIN"}, (path, begins)  # deferred: a reader's, never IMMEDIATE


def test_a_get_answers_while_another_transaction_holds_the_writers_place(sqlite_live: Live) -> None:
    live = sqlite_live
    call_id = make_call(live)
    other = make_engine(live.settings.effective_database_url)  # another process's connection, say a CLI command
    try:
        with other.connect() as writer:
            writer.execute(text("UPDATE calls SET seed = seed WHERE id = :id"), {"id": call_id})  # holds the lock
            res = live.client.get(f"/api/calls/{call_id}", headers=live.auth("tina"))
            assert res.status_code == 200 and res.json()["id"] == call_id
            listed = live.client.get("/api/calls", headers=live.auth("tina"))
            assert [c["id"] for c in listed.json()["items"]] == [call_id]
            writer.commit()
    finally:
        other.dispose()
