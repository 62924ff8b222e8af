"""A call's scorecard worked out before the transaction that stores it, so scoring never holds the writer.

Scoring a call is tens of milliseconds of CPU (every turn read against the rubric's cues). On SQLite
every writing transaction holds the single writer's place (trainer.db.gate), across all server
processes: a hang-up or a call-ending reply that scored inside its transaction kept every other
trainee's line waiting that long. Here the call is read in a transaction begun as a read, scored with
no transaction open, and the writing transaction first takes the call's row lock and checks that the
call is as it was scored (the same turns, still open or already ended as read, no scorecard yet).
When it is not (a line that raced its hang-up, two hang-ups at once) the call is read again under
that lock and scored there, as before: slower, never wrong. The scorecard is the same either way:
the scorer is a pure function of the stored turns, and a reply's time is fixed before it is scored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from trainer import conversation
from trainer.db import statements
from trainer.db.base import utcnow
from trainer.db.models import Call, Scorecard, Turn, User
from trainer.db.session import begin_read, end_reads
from trainer.personas import director
from trainer.personas.director import DirectorState
from trainer.scoring.rubric import Rubric
from trainer.services import call_access
from trainer.services import calls as call_service
from trainer.services.calls import CallError, TurnPair

RubricOf = Callable[[Session], Rubric]
"""The rubric in force, read in the given session (`rubric_admin.current_rubric` bound to the default)."""


@dataclass(frozen=True, slots=True)
class _AsRead:
    """What the scorecard was worked out from: the writer checks the call still looks like this."""

    turns: int
    ended: bool


def _still_as_read(db: Session, call_id: int, read: _AsRead) -> bool:
    """In the writing transaction: lock the call's row, then check it against what was scored.

    The lock and the counts are two statements: on PostgreSQL a statement that waited for the lock
    would count with the snapshot it started with, missing a line committed while it waited. A line
    being written holds this lock from its state's update until its commit (`calls._advance`), so
    once the lock is ours no line of this call is half-written.
    """
    ended_at = db.execute(statements.lock_call(), {"call_id": call_id}).scalar_one()
    turns, cards = db.execute(statements.call_counts(), {"call_id": call_id}).one()
    return turns == read.turns and (ended_at is not None) == read.ended and cards == 0


def hang_up(db: Session, user: User, call_id: int, rubric_of: RubricOf) -> Scorecard:
    """`calls.end_call` for a request: the call looked up for `user` (404/403 as the API answers), hung up
    if still open, and scored outside the writing transaction; the same scorecard if it already has one.

    The session's transaction, if any, must be finished or a read: the call is read in a new read.
    """
    begin_read(db)
    call = call_access.get_call_for(db, user, call_id)
    _may_hang_up(call, user)
    existing = call_service.latest_scorecard(db, call)
    if existing is not None:
        end_reads(db)
        return existing
    if call_service.unanswered(call) is not None:  # a repair writes a turn first: all of it in the writer
        end_reads(db)
        return _in_writer(db, user, call_id, rubric_of)
    rubric = rubric_of(db)
    end_reads(db)
    read = _AsRead(turns=len(call.turns), ended=call.ended)
    card = call_service.new_scorecard(call, rubric)
    ended = None if call.ended else director.end_by_trainee(DirectorState.from_dict(call.state)).to_dict()
    if not _still_as_read(db, call.id, read):
        return _in_writer(db, user, call_id, rubric_of)
    if ended is not None:
        ended_at = utcnow()
        db.connection().execute(statements.advance_open_call(True),
                                {"call_id": call.id, "new_state": ended, "new_ended_at": ended_at})
        set_committed_value(call, "state", ended)
        set_committed_value(call, "ended_at", ended_at)
    db.add(card)
    db.flush()
    return card


def _may_hang_up(call: Call, user: User) -> None:
    """A call still going is hung up only by its trainee; anyone who may see an ended one gets its card."""
    if call.user_id != user.id and not call.ended:
        raise CallError(403, "only the trainee who holds this call can hang up")


def _in_writer(db: Session, user: User, call_id: int, rubric_of: RubricOf) -> Scorecard:
    """The whole hang-up inside the writing transaction, the call read afresh under its row lock."""
    db.execute(statements.lock_call(), {"call_id": call_id})
    call = db.scalars(statements.call_with_turns().execution_options(populate_existing=True),
                      {"call_id": call_id}).unique().one()
    _may_hang_up(call, user)
    return call_service.end_call(db, call, rubric_of(db))


def store_last_words(db: Session, call_id: int, trainee_index: int, spoken: conversation.Spoken | None,
                     rubric_of: RubricOf) -> TurnPair:
    """The reply (if any) to a trainee line that ended the call, and the call's scorecard, scored before
    the writing transaction begins (the reply's time is set first, so the scorecard is that of the
    stored transcript). A turn stored at the reply's index meanwhile (a hang-up repaired the call) is
    an IntegrityError, as for `calls.finish_turn`.
    """
    begin_read(db)
    call = db.scalars(statements.call_with_turns(), {"call_id": call_id}).unique().one()
    trainee = next(t for t in call.turns if t.index == trainee_index)
    client = None
    if spoken is not None:
        client = Turn(**call_service.client_row(call.id, trainee_index + 1, spoken) | {"created_at": utcnow()})
    rubric = rubric_of(db) if call.ended and call_service.latest_scorecard(db, call) is None else None
    end_reads(db)
    transcript = [*call.turns, client] if client is not None else call.turns
    card = None if rubric is None else call_service.new_scorecard(call, rubric, transcript)
    if client is not None:
        call.turns.append(client)
        db.flush()
    if card is not None and call_service.latest_scorecard(db, call) is None:  # a hang-up may have scored it
        db.add(card)
        db.flush()
    return TurnPair(trainee=trainee, client=client, call=call)
