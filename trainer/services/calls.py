"""Practice calls: start, take a turn, end and score. Storage around the pure flow (which call a user may
read or speak in: trainer.services.call_access).

Each function runs inside the caller's transaction (one per request); nothing
here commits. Turns are only ever inserted.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from trainer import conversation
from trainer.db import statements
from trainer.db.base import utcnow
from trainer.db.models import Call, Scorecard, Turn, User
from trainer.db.session import autocommitted, begin_read, end_reads
from trainer.engines.base import Engine, VoiceRequest, is_instant
from trainer.engines.scripted import ScriptedEngine
from trainer.personas import director
from trainer.personas.director import Decision, DirectorState
from trainer.scoring.rubric import Rubric
from trainer.scoring.scorer import SCORER_VERSION, ScoringTurn, score_call
from trainer.services.personas import current_persona, persona_of, resolver
from trainer.spin.classifier import classify
from trainer.spin.labels import LANGS, Label, Lang
from trainer.spin.types import ContextTurn
from trainer.textcheck import surrogate_problem

SCORECARD_SCHEMA = 1
CALL_MODES = ("practice", "exam")  # exam: no badges, nudges or hints until the call ends


class CallError(Exception):
    """A request the call cannot take; `status` is the HTTP status that fits."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def clean_text(text: str, max_chars: int) -> str:
    """Drop control characters (keep newlines and tabs), trim, and refuse empty, too long or unencodable text."""
    if (problem := surrogate_problem(text, "text")) is not None:
        raise CallError(422, problem)
    cleaned = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
    if not cleaned:
        raise CallError(422, "text is empty; type what you would say to the client")
    if len(cleaned) > max_chars:
        raise CallError(413, f"text has {len(cleaned)} characters; a turn may have at most {max_chars}. "
                             "Split it into shorter turns.")
    return cleaned


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise CallError(422, f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def start_call(db: Session, user: User, persona_id: str, lang: str, engine: Engine, mode: str = "practice") -> Call:
    """A new call with the client's pick-up line. The persona is read and the line decided in a read (on
    SQLite outside the single writer's place, unless the caller's transaction already writes): only the
    two INSERTs hold the writer."""
    begin_read(db)
    lang_ok = check_lang(lang)
    if mode not in CALL_MODES:
        raise CallError(422, f"mode must be one of {', '.join(CALL_MODES)}, not {mode!r}")
    try:
        version, persona = current_persona(db, persona_id)
    except LookupError:
        raise CallError(404, f"no persona {persona_id!r}; GET /api/personas lists the ids") from None
    if lang_ok not in persona.languages:
        raise CallError(422, f"persona {persona_id!r} speaks {', '.join(persona.languages)}, not {lang_ok}")
    seed = secrets.randbelow(2**31)
    # The pick-up line is the persona's own first line: the scripted engine says it, so starting a call
    # never waits on a model inside the transaction.
    state, spoken = conversation.open_call(ScriptedEngine(), persona, lang_ok, seed, resolver(db))
    end_reads(db)
    call = Call(user_id=user.id, persona_version_id=version.id, persona_id=persona_id, lang=lang_ok,
                seed=seed, engine=engine.name, mode=mode, state=state.to_dict())
    db.add(call)
    db.flush()
    # Everything a response shows is at hand: no reload of the call (a third of a call start's time).
    set_committed_value(call, "user", user)
    set_committed_value(call, "persona_version", version)
    set_committed_value(call, "turns", [])
    _inserted(db, call, client_row(call.id, 0, spoken))
    return call


def client_row(call_id: int, index: int, spoken: conversation.Spoken) -> dict[str, Any]:
    reply = spoken.reply
    return {"call_id": call_id, "index": index, "role": "client", "text": reply.text, "label": None,
            "confidence": None, "detail": {"decision": spoken.decision.to_dict(), "notice": reply.notice},
            "engine": reply.engine, "model": reply.model, "latency_ms": round(spoken.latency_ms, 2),
            "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "request_key": None}


def _client_turn(call_id: int, index: int, spoken: conversation.Spoken) -> Turn:
    return Turn(**client_row(call_id, index, spoken))


def _add_client_turn(db: Session, call: Call, index: int, spoken: conversation.Spoken) -> Turn:
    turn = _client_turn(call.id, index, spoken)
    call.turns.append(turn)  # keeps the loaded transcript current without reloading it
    return turn


def store_reply(conn: Connection, call_id: int, index: int, spoken: conversation.Spoken) -> Turn:
    """The client's words in a call that goes on, stored after they were streamed: one INSERT, the call
    is not loaded again. A reply that ends the call goes through `finish_turn`, which scores the call.
    A turn stored at that index meanwhile (the call was hung up and its reply repaired) is an
    IntegrityError, as it is for `finish_turn`."""
    row = client_row(call_id, index, spoken) | {"created_at": utcnow()}
    conn.execute(statements.insert_turn(False), row)  # one row needs neither a session nor its unit of work
    return Turn(**row)  # what the response shows of it; in no session


def history_of(call: Call, last: int | None = None) -> list[ContextTurn]:
    """The call's turns (its `last` ones only, if given) as a label's context and a model's history."""
    turns = call.turns if last is None else call.turns[-last:]
    return [ContextTurn(role="trainee" if t.role == "trainee" else "client", text=t.text) for t in turns]


@dataclass(frozen=True)
class TurnPair:
    trainee: Turn
    client: Turn | None
    call: Call


@dataclass(frozen=True)
class Pending:
    """A trainee turn stored with the director's decision; the client's words are still to come."""

    call: Call
    trainee: Turn
    decision: Decision | None
    request: VoiceRequest | None
    unwritten: bool = False  # the trainee turn waits for the session's next flush (`begin_turn(insert_now=False)`)


def replayed(db: Session, call: Call, request_key: str | None) -> TurnPair | None:
    """The stored answer to a request already taken (same Idempotency-Key), if any."""
    if not request_key:
        return None
    trainee = db.scalar(statements.turn_by_request_key(), {"call_id": call.id, "request_key": request_key})
    if trainee is None:
        return None
    client = db.scalar(statements.client_turn_at(), {"call_id": call.id, "index": trainee.index + 1})
    return TurnPair(trainee=trainee, client=client, call=call)


INTERRUPTED = {"en": "The reply to this line was interrupted; a scripted reply was recorded instead.",
               "ru": "Ответ на эту реплику был прерван; вместо него записан заготовленный ответ."}


def unanswered(call: Call) -> dict[str, Any] | None:
    """The stored decision of a last trainee line that has no reply yet."""
    if not call.turns or call.turns[-1].role != "trainee":
        return None
    stored: dict[str, Any] | None = (call.turns[-1].detail or {}).get("decision")
    return stored or None


def repair_interrupted(db: Session, call: Call) -> Turn | None:
    """A trainee line left without a reply (the server stopped mid-reply) gets the scripted reply to
    the decision stored with it, marked as interrupted, so the transcript never has a hole."""
    stored = unanswered(call)
    if stored is None:
        return None
    last = call.turns[-1]
    persona = persona_of(call.persona_version)
    lang = check_lang(call.lang)
    decision = Decision.from_dict(stored)
    request = VoiceRequest(persona=conversation.speaker_of(persona, decision, resolver(db)), lang=lang,
                           decision=decision, state=DirectorState.from_dict(call.state),
                           history=history_of(call), seed=call.seed, turn_index=last.index + 1)
    spoken = conversation.speak_request(ScriptedEngine(), request)
    turn = _add_client_turn(db, call, last.index + 1, spoken)
    turn.detail = {**turn.detail, "notice": INTERRUPTED[lang], "interrupted": True}
    db.flush()
    return turn


OnRequest = Callable[[VoiceRequest], None]
"""Told the engine's request before the turn is written, so a model can be asked while the line is stored
(trainer.web.early.EarlyReply). Whoever passes it must withdraw the request if the turn then fails: a
409, a hang-up that landed meanwhile, or a database error after this point means no reply is wanted."""


def begin_turn_read(db: Session, engine: Engine) -> None:
    """Before a turn's first query, with an engine that may stall: begin the transaction as a read, so on
    SQLite the line is labelled outside the writer's place (see `begin_turn`). An instant engine's whole
    turn is one short transaction: splitting it would cost more than it frees."""
    if not is_instant(engine):
        begin_read(db)


def begin_turn(db: Session, call: Call, text: str, max_chars: int, request_key: str | None = None,
               classifier: conversation.Classifier = classify, insert_now: bool = True,
               on_request: OnRequest | None = None) -> Pending:
    """Label the line, let the director decide, and store the trainee turn and the new state.

    Nothing here waits on a model, so the trainee's words are safe before any engine is asked. A caller
    may have begun the transaction as a read (`trainer.db.session.begin_read`): on SQLite the labelling
    and the director then run outside the single writer's place, and the writing transaction first
    checks that the call did not change meanwhile (409 if it did). `insert_now=False` leaves the trainee
    turn to the session's next flush, so that a reply stored in the same transaction goes in the same
    INSERT (see `take_turn`); a clash on the turn's index then surfaces there. `on_request` is handed the
    engine's request as soon as the director has decided, before anything is written (see `OnRequest`).
    """
    text = clean_text(text, max_chars)
    if unanswered(call) is not None:
        end_reads(db)  # the repair writes: never inside a transaction begun as a read
        repair_interrupted(db, call)
    if call.ended:
        raise CallError(409, "this call has ended; start a new call to practise again")
    if request_key is not None and len(request_key) > 128:
        raise CallError(422, "Idempotency-Key is longer than 128 characters; send a shorter unique key")
    persona = persona_of(call.persona_version)
    lang = check_lang(call.lang)
    history = history_of(call)
    personas = resolver(db)  # one per turn: a transfer target is looked up once
    decided = conversation.decide(persona, lang, DirectorState.from_dict(call.state), history, text, personas,
                                  classifier)
    c = decided.classification
    index = len(call.turns)
    request = None
    if decided.decision is not None:
        request = VoiceRequest(persona=conversation.speaker_of(persona, decided.decision, personas),
                               lang=lang, decision=decided.decision, state=decided.state,
                               history=(*history, ContextTurn(role="trainee", text=text)), seed=call.seed,
                               turn_index=index + 1)
        if on_request is not None:
            on_request(request)
    read_ended = end_reads(db)
    state, ended_at = decided.state.to_dict(), utcnow() if decided.state.ended else None
    row = {"call_id": call.id, "index": index, "role": "trainee", "text": text, "label": c.label.value,
           "confidence": round(c.confidence, 3), "request_key": request_key,
           "detail": {"reason": c.reason, "spin": c.spin.value if c.spin else None,
                      "segments": [s.to_dict() for s in c.segments],
                      "decision": decided.decision.to_dict() if decided.decision else None,
                      **({"check": c.check.to_dict()} if c.check else {})}}
    if insert_now and read_ended and db.get_bind().dialect.name != "sqlite":
        trainee = _written_at_once(db, call, state, ended_at, row)
        return Pending(call=call, trainee=trainee, decision=decided.decision, request=request)
    _advance(db, call, state, ended_at)
    if insert_now:
        trainee = _inserted(db, call, row)
    else:
        trainee = Turn(**row)
        call.turns.append(trainee)
    return Pending(call=call, trainee=trainee, decision=decided.decision, request=request,
                   unwritten=not insert_now)


def _inserted(db: Session, call: Call, row: dict[str, Any]) -> Turn:
    """A turn written now with one INSERT ... RETURNING id instead of the unit of work's flush (which cost
    more for one row), then placed in the session and at the end of the loaded transcript as if loaded
    from it. A clash on the turn's index raises here."""
    row = row | {"created_at": utcnow()}
    turn = Turn(**row, id=db.connection().execute(statements.insert_turn(True), row).scalar_one())
    make_transient_to_detached(turn)
    db.add(turn)
    set_committed_value(call, "turns", [*call.turns, turn])
    return turn


def _written_at_once(db: Session, call: Call, state: dict[str, Any], ended_at: datetime | None,
                     row: dict[str, Any]) -> Turn:
    """On a server database, `_advance` and `_inserted` as one statement in autocommit
    (`statements.advance_and_insert_turn`): committed when it returns (the caller's commit then sends
    nothing; a write after it begins a transaction of its own). Same answers: a 409 if the call ended meanwhile,
    an IntegrityError if another line took the index."""
    row = row | {"created_at": utcnow()}
    with autocommitted(db.connection()) as conn:
        turn_id = conn.execute(statements.advance_and_insert_turn(ended_at is not None),
                               row | {"new_state": state, "new_ended_at": ended_at}).scalar_one_or_none()
    if turn_id is None:
        raise _ended_meanwhile()
    set_committed_value(call, "state", state)
    if ended_at is not None:
        set_committed_value(call, "ended_at", ended_at)
    turn = Turn(**row, id=turn_id)
    make_transient_to_detached(turn)
    db.add(turn)
    set_committed_value(call, "turns", [*call.turns, turn])
    return turn


def _ended_meanwhile() -> CallError:
    return CallError(409, "the call ended while this line was being labelled; start a new call to practise "
                          "again")


def _advance(db: Session, call: Call, state: dict[str, Any], ended_at: datetime | None) -> None:
    """Store the director's new state, only if the call is still open: a hang-up that landed after the
    call was read (the line was labelled meanwhile) makes this a 409, not a call reopened. A line of
    another request that got in first clashes on the turn's index instead. Same round trips as the
    plain ORM update it replaces."""
    done = db.connection().execute(statements.advance_open_call(ended_at is not None),
                                   {"call_id": call.id, "new_state": state, "new_ended_at": ended_at})
    if done.rowcount != 1:
        raise _ended_meanwhile()
    set_committed_value(call, "state", state)
    if ended_at is not None:
        set_committed_value(call, "ended_at", ended_at)


Outside = Callable[[], AbstractContextManager[object]]
"""Wraps a wait on a model, with the request's transaction already committed (the web layer gives back
the request's place among those working in the database: trainer.web.slots.DbSlots.released)."""


def settle_label(db: Session, call: Call, text: str, max_chars: int, classifier: conversation.Classifier,
                 outside: Outside = nullcontext) -> conversation.Classifier:
    """Label the line before the turn's writing transaction when the classifier may ask a model.

    The offline label is computed first; only when the classifier would ask a model about it (an LLM
    confirming unsure labels) is the transaction committed and the model asked `outside` it, so a slow
    model never holds SQLite's write lock, a pooled connection or a database slot. The turn then reuses
    the answer. A line stored meanwhile by a twin request makes the insert clash on the turn index: a
    409, as for any race.
    """
    if not isinstance(classifier, conversation.CheckingClassifier):
        return classifier  # pure and instant: it runs inside the turn's transaction
    lang = check_lang(call.lang)
    context = tuple(history_of(call))[-conversation.CONTEXT_TURNS:]
    cleaned = clean_text(text, max_chars)
    settled = classify(cleaned, context, lang)
    if classifier.unsure(settled):
        db.commit()
        with outside():
            settled = classifier.confirm(cleaned, context, lang, settled)
    return lambda _text, _context, _lang: settled


def raced() -> CallError:
    """The answer to a line that lost a race with another line of the same call (a clash on the index)."""
    return CallError(409, "another line of this call was being stored at the same moment; send yours again")


def begin_turn_safely(db: Session, call: Call, text: str, max_chars: int, request_key: str | None = None,
                      classifier: conversation.Classifier = classify, outside: Outside = nullcontext,
                      insert_now: bool = True, on_request: OnRequest | None = None) -> Pending | TurnPair:
    """`begin_turn`, or the stored answer when the same key was already taken (also by a racing twin).

    `insert_now=False` (the caller stores the reply in the same transaction, with `finish_turn`)
    applies without a key only: with one, the line is written inside a SAVEPOINT so that a twin's
    stored answer can be looked up after a clash.
    """
    again = replayed(db, call, request_key)
    if again is not None:
        return again
    classifier = settle_label(db, call, text, max_chars, classifier, outside)
    if request_key is None:
        # Nothing to look up after a race, so no SAVEPOINT (two round trips a turn): a clash on the
        # turn's index rolls the whole request back, which has written nothing else.
        try:
            return begin_turn(db, call, text, max_chars, None, classifier, insert_now, on_request)
        except IntegrityError:
            db.rollback()
            raise raced() from None
    end_reads(db)  # a SAVEPOINT belongs in a writer's transaction, not in one begun as a read
    try:
        with db.begin_nested():
            return begin_turn(db, call, text, max_chars, request_key, classifier, on_request=on_request)
    except IntegrityError:
        db.expire_all()
        again = replayed(db, call, request_key)
        if again is not None:
            return again
        raise raced() from None


RubricSource = Rubric | Callable[[], Rubric]  # a callable is asked only when a call ends and needs scoring


def finish_turn(db: Session, pending: Pending, spoken: conversation.Spoken | None, rubric: RubricSource
                ) -> TurnPair:
    """Store the client's words (if any); a call the client ended is scored at once.

    When the trainee's line is still unwritten (`Pending.unwritten`), both go in with this flush, and a
    clash on the index is the race `begin_turn_safely` answers with a 409: the request has written
    nothing yet. A line already stored is not answered so: resending it would say it twice.
    """
    call = pending.call
    client = _add_client_turn(db, call, pending.trainee.index + 1, spoken) if spoken else None
    try:
        db.flush()
    except IntegrityError:
        if not pending.unwritten:
            raise
        db.rollback()
        raise raced() from None
    if call.ended:
        ensure_scorecard(db, call, rubric if isinstance(rubric, Rubric) else rubric())
    return TurnPair(trainee=pending.trainee, client=client, call=call)


def take_turn(db: Session, call: Call, text: str, engine: Engine, max_chars: int, rubric: RubricSource,
              request_key: str | None = None, classifier: conversation.Classifier = classify,
              outside: Outside = nullcontext) -> TurnPair:
    """One whole turn: the trainee's line and the client's answer.

    The trainee's line and the director's decision are committed before the engine speaks, so a slow
    or failing model never holds a transaction (or SQLite's write lock) and never loses the line; the
    reply is stored in a second transaction, and the engine speaks `outside` (see `Outside`). An `instant`
    engine (the scripted one: in-process, no I/O) speaks inside the first transaction: one commit.
    """
    instant = is_instant(engine)
    # An instant engine's reply goes in with the trainee's line: one INSERT for both, one round trip.
    pending = begin_turn_safely(db, call, text, max_chars, request_key, classifier, outside, insert_now=not instant)
    if isinstance(pending, TurnPair):
        return pending
    spoken = None
    if pending.request is not None:
        if instant:
            spoken = conversation.speak_request(engine, pending.request)
        else:
            db.commit()  # an engine that may stall or fail gets the trainee's line already stored
            with outside():
                spoken = conversation.speak_request(engine, pending.request)
    return finish_turn(db, pending, spoken, rubric)


def end_call(db: Session, call: Call, rubric: Rubric) -> Scorecard:
    """Hang up (if the call is still going) and score it; calling it again returns the same scorecard."""
    repair_interrupted(db, call)
    if not call.ended:
        state = director.end_by_trainee(DirectorState.from_dict(call.state))
        call.state = state.to_dict()
        call.ended_at = utcnow()
        db.flush()
    card = ensure_scorecard(db, call, rubric)
    assert card is not None
    return card


def ensure_scorecard(db: Session, call: Call, rubric: Rubric | None) -> Scorecard | None:
    existing = latest_scorecard(db, call)
    if existing is not None or rubric is None:
        return existing
    card = new_scorecard(call, rubric)
    db.add(card)
    db.flush()
    return card


def new_scorecard(call: Call, rubric: Rubric, turns: Sequence[Turn] | None = None) -> Scorecard:
    """The scorecard of `call` under `rubric`, over `turns` (default: its loaded transcript); in no session.
    Pure work on what is loaded, so it can run before the transaction that stores it (services.scorecards)."""
    data = score_call(scoring_turns(call, turns), rubric, check_lang(call.lang))
    return Scorecard(call_id=call.id, rubric_id=rubric.id, rubric_version=rubric.version,
                     scorer_version=SCORER_VERSION, schema_version=SCORECARD_SCHEMA,
                     total=int(data["total"]), data=data)


def scoring_turns(call: Call, turns: Sequence[Turn] | None = None) -> list[ScoringTurn]:
    start = call.started_at
    out = []
    for t in call.turns if turns is None else turns:
        at = (t.created_at - start).total_seconds() if start else None
        label = Label(t.label) if t.role == "trainee" and t.label else None
        out.append(ScoringTurn(index=t.index, role="trainee" if t.role == "trainee" else "client", text=t.text,
                               label=label, at=max(at, 0.0) if at is not None else None))
    return out


def latest_scorecard(db: Session, call: Call) -> Scorecard | None:
    return db.scalar(statements.latest_scorecard(), {"call_id": call.id})
