"""The CPU-heavy parts of starting and ending a call run before the transaction that writes them.

A call's scorecard (trainer.services.scorecards): other trainees' lines are stored while it is scored,
a line or a hang-up that gets in meanwhile is never lost or scored twice, and the card is the one a
fresh scoring of the stored transcript gives. A new call's pick-up line is decided the same way.
On SQLite every writing transaction holds the one writer's place: what runs inside it, everyone waits for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from trainer import conversation
from trainer.coaching.hints import hint_for
from trainer.config import project_root
from trainer.db.models import Call, Scorecard, User
from trainer.db.session import unit_of_work
from trainer.engines.scripted import ScriptedEngine
from trainer.personas.director import DirectorState
from trainer.scoring.rubric import Rubric, default_rubric_path, load_rubric
from trainer.services import accounts, scorecards
from trainer.services import calls as call_service
from trainer.services.calls import CallError
from trainer.services.personas import persona_of, sync_persona_files

RUBRIC = load_rubric(default_rubric_path())


def rubric_of(_db: Session) -> Rubric:
    return RUBRIC


def _setup(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Two trainees, each with a call that has had a few lines; their ids and the first call's id."""
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        ann = accounts.create_user(db, "ann", "trainee", "long enough pw")
        bob = accounts.create_user(db, "bob", "trainee", "long enough pw")
        calls = [call_service.start_call(db, who, "logistics-director", "en", ScriptedEngine()) for who in (ann, bob)]
        for call in calls:
            for line in ("Good afternoon, is this the logistics director?", "How many trucks do you run today?"):
                call_service.take_turn(db, call, line, ScriptedEngine(), 2000, RUBRIC)
        return ann.id, calls[0].id


def _user(sessions: sessionmaker[Session], user_id: int) -> User:
    """The user as the web layer's sign-in leaves it: read in a transaction already ended."""
    with unit_of_work(sessions) as db:
        user = db.get(User, user_id)
        assert user is not None
        return user


def _say(sessions: sessionmaker[Session], call_id: int, text: str) -> None:
    """One whole turn of another request, in a transaction of its own (the scripted engine's path)."""
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        call_service.take_turn(db, call, text, ScriptedEngine(), 2000, RUBRIC)


def _scoring_spy(monkeypatch: pytest.MonkeyPatch, during_first: Callable[[], None]) -> list[int]:
    """Run `during_first` while the first scoring is under way; returns the list of scored turn counts."""
    scored: list[int] = []
    score = call_service.score_call

    def spy(turns: Any, rubric: Rubric, lang: Any) -> Any:
        scored.append(len(turns))
        if len(scored) == 1:
            during_first()
        return score(turns, rubric, lang)

    monkeypatch.setattr(call_service, "score_call", spy)
    return scored


def _fresh(sessions: sessionmaker[Session], call_id: int) -> tuple[Call, list[Scorecard], dict[str, Any]]:
    """The stored call, its scorecards, and what scoring its stored transcript again gives."""
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        cards = list(db.scalars(select(Scorecard).where(Scorecard.call_id == call_id)))
        again = call_service.new_scorecard(call, RUBRIC).data
        call.turns  # noqa: B018  (loaded before the session closes)
        return call, cards, again


def _in_thread(fn: Callable[[], None]) -> None:
    """`fn` on another thread, waited for at most 10 s: a write that waits for the scorer fails the test."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # collected: an assertion in a thread would be lost
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "another request's write waited for the call being scored"
    assert errors == []


def test_other_lines_are_stored_while_a_hang_up_is_scored(sessions: sessionmaker[Session],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ann_id, call_id = _setup(sessions)
    with unit_of_work(sessions) as db:
        bobs = db.scalar(select(Call.id).where(Call.user_id != ann_id))
    assert bobs is not None
    scored = _scoring_spy(monkeypatch, lambda: _in_thread(lambda: _say(sessions, bobs, "How do you plan routes?")))
    ann = _user(sessions, ann_id)
    with unit_of_work(sessions) as db:
        card = scorecards.hang_up(db, ann, call_id, rubric_of)
        card_id, data = card.id, card.data
    monkeypatch.undo()  # the checks below score without the spy
    call, cards, again = _fresh(sessions, call_id)
    assert scored == [len(call.turns)], "scored once, outside the writer, over the whole transcript"
    assert call.ended and call.state["ended"] and [c.id for c in cards] == [card_id]
    assert data == again, "the stored card is what scoring the stored transcript gives"
    with unit_of_work(sessions) as db:  # hanging up again answers the same card and writes nothing
        ann = db.get(User, ann_id)
        assert ann is not None
        assert scorecards.hang_up(db, ann, call_id, rubric_of).id == card_id
    assert len(_fresh(sessions, call_id)[1]) == 1


def test_a_line_that_got_in_while_the_hang_up_was_scored_is_in_its_scorecard(
        sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    ann_id, call_id = _setup(sessions)
    scored = _scoring_spy(monkeypatch, lambda: _in_thread(lambda: _say(sessions, call_id, "How do you plan routes?")))
    ann = _user(sessions, ann_id)
    with unit_of_work(sessions) as db:
        data = scorecards.hang_up(db, ann, call_id, rubric_of).data
    monkeypatch.undo()  # the checks below score without the spy
    call, cards, again = _fresh(sessions, call_id)
    assert len(call.turns) == scored[0] + 2, "the line and its reply were stored, not overwritten"
    assert scored == [scored[0], len(call.turns)], "scored again, under the call's lock, with the new line"
    assert call.ended and len(cards) == 1 and data == again


def test_two_hang_ups_at_once_store_one_scorecard(sessions: sessionmaker[Session],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ann_id, call_id = _setup(sessions)
    other: list[int] = []

    def hang_up_meanwhile() -> None:
        ann = _user(sessions, ann_id)
        with unit_of_work(sessions) as db:
            other.append(scorecards.hang_up(db, ann, call_id, rubric_of).id)

    _scoring_spy(monkeypatch, lambda: _in_thread(hang_up_meanwhile))
    ann = _user(sessions, ann_id)
    with unit_of_work(sessions) as db:
        first = scorecards.hang_up(db, ann, call_id, rubric_of).id
    monkeypatch.undo()
    _, cards, again = _fresh(sessions, call_id)
    assert [c.id for c in cards] == other == [first], "the slower hang-up answers the card already stored"
    assert cards[0].data == again


def test_someone_elses_open_call_is_not_hung_up(sessions: sessionmaker[Session]) -> None:
    ann_id, call_id = _setup(sessions)
    with unit_of_work(sessions) as db:
        bob = db.scalar(select(User).where(User.id != ann_id))
    assert bob is not None
    with unit_of_work(sessions) as db:
        with pytest.raises(CallError) as refused:
            scorecards.hang_up(db, bob, call_id, rubric_of)
        assert refused.value.status == 404
    call, cards, _ = _fresh(sessions, call_id)
    assert not call.ended and cards == []


def test_the_last_words_and_the_scorecard_are_stored_together(sessions: sessionmaker[Session],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A line that ends the call (following the coach's hints books the meeting) is stored first, as the
    streaming endpoint does; its reply is stored with the scorecard, scored while others write."""
    ann_id, call_id = _setup(sessions)
    for _ in range(12):
        with unit_of_work(sessions) as db:
            call = db.get(Call, call_id)
            assert call is not None
            hint = hint_for(persona_of(call.persona_version), DirectorState.from_dict(call.state), "en")
            assert hint is not None, "the hints run out before the call ends"
            pending = call_service.begin_turn(db, call, hint.text, 2000)
            if call.ended:
                break
            assert pending.request is not None
            call_service.finish_turn(db, pending, conversation.speak_request(ScriptedEngine(), pending.request),
                                     RUBRIC)
    assert call.ended and pending.request is not None, "the hints book the meeting within 12 lines"
    spoken = conversation.speak_request(ScriptedEngine(), pending.request)
    with unit_of_work(sessions) as db:
        bobs = db.scalar(select(Call.id).where(Call.user_id != ann_id))
    assert bobs is not None
    scored = _scoring_spy(monkeypatch, lambda: _in_thread(lambda: _say(sessions, bobs, "How do you plan routes?")))
    with unit_of_work(sessions) as db:
        pair = scorecards.store_last_words(db, call_id, pending.trainee.index, spoken, rubric_of)
        assert pair.client is not None and pair.call.ended
    monkeypatch.undo()  # the checks below score without the spy
    call, cards, again = _fresh(sessions, call_id)
    assert call.turns[-1].role == "client" and call.turns[-1].text == spoken.reply.text
    assert scored == [len(call.turns)] and len(cards) == 1 and cards[0].data == again
    with unit_of_work(sessions) as db:
        assert db.scalar(select(func.count()).select_from(Scorecard).where(Scorecard.call_id == bobs)) == 0


def test_a_new_calls_pick_up_line_is_decided_while_others_write(sessions: sessionmaker[Session],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ann_id, call_id = _setup(sessions)
    opened = conversation.open_call

    def spy(*args: Any, **kwargs: Any) -> Any:
        _in_thread(lambda: _say(sessions, call_id, "How do you plan routes?"))
        return opened(*args, **kwargs)

    monkeypatch.setattr(conversation, "open_call", spy)
    ann = _user(sessions, ann_id)
    with unit_of_work(sessions) as db:
        new_id = call_service.start_call(db, ann, "logistics-director", "en", ScriptedEngine()).id
    with unit_of_work(sessions) as db:
        new = db.get(Call, new_id)
        assert new is not None and [t.role for t in new.turns] == ["client"] and new.turns[0].text
        assert new.state and not new.ended


def test_the_rubric_in_force_is_read_without_keeping_the_writer(sessions: sessionmaker[Session],
                                                                db_url: str) -> None:
    """The pages' rubric dependency reads in a read it ends itself: on SQLite, a writer's transaction
    begun there stayed open across the hop to the handler (and the practice page asks after every line)."""
    from trainer.services.rubric_admin import current_rubric
    from trainer.web.deps import get_rubric

    _setup(sessions)
    with unit_of_work(sessions) as db:
        ctx = SimpleNamespace(rubric_in_force=lambda read: current_rubric(read, RUBRIC))  # what it reads of the app
        assert get_rubric(ctx, db) is RUBRIC  # type: ignore[arg-type]
        if db_url.startswith("sqlite"):
            assert not db.in_transaction()
            _in_thread(lambda: _say(sessions, _first_call(sessions), "How do you plan routes?"))
        assert db.scalar(select(func.count()).select_from(Call)) == 2, "the session reads on afterwards"


def _first_call(sessions: sessionmaker[Session]) -> int:
    with unit_of_work(sessions) as db:
        first = db.scalar(select(func.min(Call.id)))
    assert first is not None
    return first
