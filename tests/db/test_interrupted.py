"""A reply cut off by a stopped server leaves no hole: the next request records it as interrupted."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from trainer.config import project_root
from trainer.db.models import Call
from trainer.db.session import begin_read, unit_of_work
from trainer.engines.scripted import ScriptedEngine
from trainer.scoring.rubric import default_rubric_path, load_rubric
from trainer.services import accounts
from trainer.services import calls as call_service
from trainer.services.personas import sync_persona_files


def test_interrupted_reply_is_recorded_and_the_call_goes_on(sessions: sessionmaker[Session]) -> None:
    rubric = load_rubric(default_rubric_path())
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        call = call_service.start_call(db, user, "logistics-director", "en", ScriptedEngine())
        # the server stores the trainee's line and the decision, then dies before the reply is stored
        call_service.begin_turn(db, call, "How many trucks do you run today?", 2000)
        call_id = call.id
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        assert [t.role for t in call.turns] == ["client", "trainee"]
        pair = call_service.take_turn(db, call, "How do you track fuel today?", ScriptedEngine(), 2000, rubric)
        assert pair.trainee.index == 3
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        roles = [t.role for t in call.turns]
        assert roles == ["client", "trainee", "client", "trainee", "client"]
        repaired = call.turns[2]
        assert repaired.detail["interrupted"] is True and repaired.detail["notice"]
        assert repaired.text and "84 trucks" in repaired.text, "the stored decision (release the fleet fact) is voiced"


@pytest.mark.parametrize("meanwhile", ["another line", "hung up"])
def test_a_line_labelled_on_a_read_is_refused_when_the_call_changed_meanwhile(sessions: sessionmaker[Session],
                                                                              meanwhile: str) -> None:
    """The web layer labels a line in a transaction begun as a read (on SQLite: outside the writer's
    place); a line stored or a hang-up by another request in between must not be overwritten."""
    rubric = load_rubric(default_rubric_path())
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        call_id = call_service.start_call(db, user, "logistics-director", "en", ScriptedEngine()).id
    slow = sessions()
    try:
        begin_read(slow)
        call = slow.get(Call, call_id)
        assert call is not None and len(call.turns) == 1
        with unit_of_work(sessions) as db:  # another request gets in first
            other = db.get(Call, call_id)
            assert other is not None
            if meanwhile == "another line":
                call_service.take_turn(db, other, "How many trucks do you run today?", ScriptedEngine(), 2000,
                                       rubric)
            else:
                call_service.end_call(db, other, rubric)
        with pytest.raises(call_service.CallError) as refused:
            call_service.begin_turn_safely(slow, call, "How do you track fuel today?", 2000)
        assert refused.value.status == 409
        slow.rollback()
    finally:
        slow.close()
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        expected = ["client", "trainee", "client"] if meanwhile == "another line" else ["client"]
        assert [t.role for t in call.turns] == expected
        assert call.ended == (meanwhile == "hung up")
