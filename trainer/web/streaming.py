"""`POST /api/calls/{id}/turns/stream`: the label at once, then the client's reply as it is spoken.

Server-sent events, in order:
  event: trainee  data: the stored trainee turn (index, text, label, letter, reason, ...)
  event: token    data: {"text": words}            (zero or more; words arriving within
                  SPIN_TRAINER_STREAM_FLUSH_MS of the last event go out together, see `_Relay`)
  event: done     data: {"client": {...} | null, "ended": bool, "state": {...}, "replaced": bool}
                  (replaced: the streamed words were swapped for the stored line; show client.text)
  event: error    data: {"detail": message}        (instead of done, if storing the reply failed)
The trainee turn and the director's decision are committed before any event is
sent, so a reply that fails midway never loses the trainee's words; an engine read
on the event loop (the LLM) is asked for its reply while the line is written
(`trainer.web.early`), and a line that cannot be stored withdraws that request.
An `instant` engine (the scripted one: no I/O, it cannot fail midway) speaks
inside that same transaction, so the turn is one commit; the events are the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from trainer import conversation
from trainer.db.session import one_statement, unit_of_work
from trainer.engines.base import Engine, VoiceReply, VoiceRequest, is_instant
from trainer.engines.scripted import ScriptedEngine
from trainer.personas.model import Persona
from trainer.services import call_access
from trainer.services import calls as call_service
from trainer.services.calls import CallError, Pending
from trainer.services.personas import persona_of
from trainer.services.scorecards import store_last_words
from trainer.spin.classifier import read_ahead
from trainer.spin.types import ContextTurn
from trainer.web.ahead import ask_when_labelled
from trainer.web.api import TurnIn, line_ahead, remember_call, turn_writer
from trainer.web.context import AppContext
from trainer.web.deps import DB, Caller, Credentials, Ctx, commit_here
from trainer.web.early import EarlyReply, EarlyStreamingResponse
from trainer.web.recent import ReplyBasis
from trainer.web.serialize import client_json, trainee_json

if TYPE_CHECKING:
    from trainer.engines.llm_async import AsyncStreamedReply

log = logging.getLogger("trainer")

router = APIRouter()


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def speak_streaming(engine: Engine, request: VoiceRequest, streamed: AsyncStreamedReply | None = None
                          ) -> AsyncGenerator[str | conversation.Spoken, None]:
    """Yield the reply's pieces, then the finished `Spoken` (words, model, tokens, latency).

    An engine with `astream_reply` (the LLM) is read on the event loop, holding no worker thread while
    the model speaks; any other engine's `stream` may block, so it is read on worker threads (an
    `instant` engine never comes here: `post_turn_stream` voices it inside the turn's transaction).
    If the consumer stops early (the browser went away), the engine's stream is closed. `streamed`: the
    engine's `astream_reply(request)` made already (`Speaking`).
    """
    started = time.perf_counter()
    astream_reply = getattr(engine, "astream_reply", None)
    if streamed is None and callable(astream_reply):
        streamed = astream_reply(request)
    if streamed is not None:
        try:
            async for piece in streamed:
                yield piece
        finally:
            if not streamed.done:
                with anyio.CancelScope(shield=True):
                    await streamed.aclose()
        reply: VoiceReply = streamed.reply
    else:
        pieces = []
        async for piece in iterate_in_threadpool(engine.stream(request)):
            pieces.append(piece)
            yield piece
        reply = _joined(engine, pieces)
    yield conversation.Spoken(decision=request.decision, reply=reply,
                              latency_ms=(time.perf_counter() - started) * 1000)


class Speaking:
    """`speak_streaming` for an engine read on the event loop, its model request written at once where
    the transport can (`AsyncStreamedReply.send_now`): made on the loop, by `EarlyReply`, the model
    hears the request then, not a turn of the loop later when the task reading the reply first runs.
    `release` drops that request if the pieces are never read (a task stopped before it began)."""

    def __init__(self, engine: Engine, request: VoiceRequest) -> None:
        self._streamed: AsyncStreamedReply = engine.astream_reply(request)  # type: ignore[attr-defined]
        self.sent = False  # the request is on the wire: nothing needs to read the reply to get it going
        try:
            self.sent = self._streamed.send_now()
        except Exception:  # the first try builds the request again, and meets the error where it belongs
            log.debug("the model's request could not be sent ahead", exc_info=True)
        self._pieces = speak_streaming(engine, request, self._streamed)

    def __aiter__(self) -> Speaking:
        return self

    async def __anext__(self) -> str | conversation.Spoken:
        return await anext(self._pieces)

    async def aclose(self) -> None:
        self.release()
        await self._pieces.aclose()

    def release(self) -> None:
        self._streamed.release()


def _joined(engine: Engine, pieces: list[str]) -> VoiceReply:
    """The reply of an engine without a reply object of its own: its streamed pieces, joined."""
    return VoiceReply(text="".join(pieces).strip(), engine=engine.name)


def _done(stored: dict[str, Any], streamed: list[str]) -> str:
    """The `done` event. A reply replaced mid-stream (the model failed after some pieces) must be shown
    as stored: `replaced` tells the page to swap the streamed words for `client.text`."""
    client = stored["client"]
    return sse("done", {**stored, "replaced": bool(client) and client["text"] != "".join(streamed).strip()})


@dataclasses.dataclass(frozen=True, slots=True)
class _Turn:
    """What the reply's store needs to know of the turn begun in the request."""

    call_id: int
    trainee_index: int
    ended: bool  # the trainee's line ended the call (the reply, if any, is its last line)
    state: dict[str, Any]
    user_id: int
    persona: Persona  # the call's own (the request's may be another, put through to)
    seed: int


def _store(ctx: AppContext, turn: _Turn, spoken: conversation.Spoken | None) -> dict[str, Any]:
    call_id, trainee_index = turn.call_id, turn.trainee_index
    if spoken is not None and not turn.ended:  # the common case: one INSERT on a connection, no session
        with one_statement(ctx.db_engine) as conn:
            reply = call_service.store_reply(conn, call_id, trainee_index + 1, spoken)
        return {"client": client_json(reply), "ended": False, "state": turn.state}
    with unit_of_work(ctx.sessions) as db:  # the call's last words: scored before the writer (services.scorecards)
        pair = store_last_words(db, call_id, trainee_index, spoken, ctx.rubric_in_force)
        return {"client": client_json(pair.client), "ended": pair.call.ended, "state": pair.call.state}


async def _stored(ctx: AppContext, turn: _Turn, spoken: conversation.Spoken | None) -> dict[str, Any]:
    """`_store` on a worker thread. Shielded: once begun it finishes even if the browser leaves.

    Not counted in `ctx.db_slots` (the pool keeps room for it above the slots): a finished reply
    queueing behind new turns for a slot doubled the p95 turn time under load.
    """
    with anyio.CancelScope(shield=True):
        done = await run_in_threadpool(_store, ctx, turn, spoken)
    return done


async def _events(ctx: AppContext, turn: _Turn, pending_turn: dict[str, Any], request: VoiceRequest | None,
                  early: EarlyReply | None = None) -> AsyncIterator[str]:
    """The events of a turn already committed; the reply is read from `early` when it was asked for there."""
    spoken: conversation.Spoken | None = None
    streamed: list[str] = []
    pieces: AsyncGenerator[str | conversation.Spoken, None] | None = None
    if request is not None:  # the director wants a reply; `early` has been asked for it already
        pieces = early.pieces() if early is not None else speak_streaming(ctx.engine, request)
    relay = _Relay(ctx.settings.stream_flush_ms / 1000)
    try:
        yield sse("trainee", pending_turn)
        if pieces is not None:
            async for item in pieces:
                if isinstance(item, str):
                    streamed.append(item)
                    if words := relay.add(item):
                        yield sse("token", {"text": words})
                else:
                    spoken = item
            if words := relay.rest():
                yield sse("token", {"text": words})
    except (GeneratorExit, asyncio.CancelledError):
        # The browser left mid-reply (the response task is cancelled, or this generator closed):
        # close the engine's stream and still store the line.
        ctx.recent_contexts.forget(turn.call_id)
        with anyio.CancelScope(shield=True):
            if pieces is not None:
                await pieces.aclose()
            with contextlib.suppress(Exception):
                await _stored(ctx, turn, _closed(request) if request is not None else None)
        raise
    try:
        done = await _stored(ctx, turn, spoken)
    except Exception:
        ctx.recent_contexts.forget(turn.call_id)
        yield sse("error", {"detail": "the reply could not be stored; reload the page to see the call"})
        return
    yield _done(done, streamed)
    if done["client"] and not done["ended"] and request is not None:
        client_text = done["client"]["text"]
        _read_ahead(client_text)
        history = (*request.history, ContextTurn(role="client", text=client_text))
        ctx.recent_contexts.remember(turn.call_id, request.lang, history,
                                     ReplyBasis(turn.user_id, turn.persona, turn.state, turn.seed,
                                                tuple(history)))
    else:
        ctx.recent_contexts.forget(turn.call_id)


class _Relay:
    """Which streamed words go out now. The first at once; later ones at most every `every_s` seconds,
    those that arrived in between together. A model streams a token every 10-40 ms and each event is
    a write to the browser's socket: relaying each one cost the server more than reading it. A word
    held back waits until the next one arrives or the reply ends (`rest`), never longer."""

    __slots__ = ("_clock", "_held", "_last", "every_s")

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._held: list[str] = []
        self._last: float | None = None
        self._clock = clock

    def add(self, piece: str) -> str:
        self._held.append(piece)
        now = self._clock()
        if self._last is not None and now - self._last < self.every_s:
            return ""
        self._last = now
        return self.rest()

    def rest(self) -> str:
        words, self._held = "".join(self._held), []
        return words


def _read_ahead(client_text: str) -> None:
    """Have the client's line encoded while the trainee thinks (`classifier.read_ahead`), once the response
    has everything; a failure there only means the next label encodes it itself."""
    with contextlib.suppress(Exception):
        read_ahead(client_text)


async def _replayed(events: list[str]) -> AsyncIterator[str]:
    for event in events:
        yield event


def _closed(request: VoiceRequest) -> conversation.Spoken:
    """The line stored for a reply the trainee did not wait for: the scripted words of the decision."""
    spoken = conversation.speak_request(ScriptedEngine(), request)
    notice = call_service.INTERRUPTED.get(request.lang, call_service.INTERRUPTED["en"])
    return dataclasses.replace(spoken, reply=dataclasses.replace(spoken.reply, notice=notice))


class _Ahead:
    """The reply asked for on the line's arrival (trainer.web.ahead), until the handler takes it."""

    __slots__ = ("early",)

    def __init__(self) -> None:
        self.early: EarlyReply | None = None

    def take(self) -> EarlyReply | None:
        early, self.early = self.early, None
        return early


async def reply_ahead(request: Request, ctx: Ctx, caller: Caller) -> AsyncIterator[tuple[Credentials, _Ahead]]:
    """`early_caller` for the streamed turn: with an engine read on the event loop and a call whose next
    request this process can guess (trainer.web.recent.ReplyBasis), the model is asked as soon as the
    label begun ahead is in (trainer.web.ahead). A reply the handler did not take (the body was refused
    before it ran, say) is stopped when the handler is done."""
    ahead = _Ahead()
    line = await line_ahead(request, ctx, caller)
    if line is None:
        yield caller, ahead
        return
    basis = ctx.recent_contexts.basis(line.call_id) if line.label is not None and ctx.settings.reply_ahead else None
    if basis is not None and basis[1].user_id == line.user_id:  # only a call's own trainee's line
        ahead.early = _early_reply(ctx)
    if ahead.early is not None and basis is not None and line.label is not None:
        ask_when_labelled(ahead.early, basis[0], basis[1], line.text, line.label)
    try:
        yield dataclasses.replace(caller, line_sent=True), ahead
    finally:
        if ahead.early is not None:  # never handed to a response
            await ahead.early.close()


ReplyAhead = Annotated[tuple[Credentials, _Ahead], Depends(reply_ahead, scope="function")]


@router.post("/api/calls/{call_id}/turns/stream", tags=["calls"],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "events: trainee, token..., done (or error)"}})
def post_turn_stream(call_id: int, body: TurnIn, arrived: ReplyAhead, db: DB, ctx: Ctx,
                     idempotency_key: str | None = Header(default=None)) -> StreamingResponse:
    """Say something and receive the label at once, then the client's reply as a stream."""
    caller, ahead = arrived
    who = turn_writer(db, ctx, caller, call_id, body.text)
    instant = is_instant(ctx.engine)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    early = ahead.take() or _early_reply(ctx)
    try:
        call = call_access.call_to_speak_in(db, who.user, call_id, ctx.settings.turns_per_minute,
                                             idempotency_key)
        # An instant engine's reply goes in with the trainee's line (one INSERT; see calls.take_turn).
        pending = call_service.begin_turn_safely(db, call, body.text, ctx.settings.max_turn_chars,
                                                 idempotency_key, ctx.classifier, ctx.db_slots.released,
                                                 insert_now=not instant,
                                                 on_request=early.start if early is not None else None)
        if isinstance(pending, call_service.TurnPair):
            if early is not None:
                early.cancel()  # a twin of this request (same key) was stored first: its answer stands
            replay = [sse("trainee", trainee_json(pending.trainee)),
                      sse("done", {"client": client_json(pending.client), "ended": call.ended,
                                   "state": call.state})]
            return StreamingResponse(_replayed(replay), media_type="text/event-stream")
        if instant:  # the whole turn is this transaction, committed here before the body streams
            events = _spoken_at_once(db, ctx, pending)
            commit_here(db)
            remember_call(ctx, call)
            return StreamingResponse(_replayed(events), media_type="text/event-stream", headers=headers)
        first = trainee_json(pending.trainee)
        # The turn is committed here, in this thread, before the body streams (the model may be busy with
        # it already: see trainer.web.early).
        turn = _Turn(call.id, pending.trainee.index, call.ended, call.state, call.user_id,
                     persona_of(call.persona_version), call.seed)
        commit_here(db)
    except BaseException as exc:
        if early is not None:
            early.cancel()
        if isinstance(exc, CallError):
            raise HTTPException(exc.status, exc.message, headers=exc.headers) from None
        raise
    body_events = _events(ctx, turn, first, pending.request, early)
    if early is not None:
        return EarlyStreamingResponse(body_events, early, headers)
    return StreamingResponse(body_events, media_type="text/event-stream", headers=headers)


def _early_reply(ctx: AppContext) -> EarlyReply | None:
    """An engine read on the event loop is asked for the reply before the line is written (see `early`)."""
    if ctx.loop is None or not callable(getattr(ctx.engine, "astream_reply", None)):
        return None
    engine = ctx.engine
    return EarlyReply(ctx.loop, lambda request: Speaking(engine, request))


def _spoken_at_once(db: Session, ctx: AppContext, pending: Pending) -> list[str]:
    """All the events of a turn voiced by an `instant` engine (the scripted one: no I/O, cannot stall).

    It speaks inside the turn's own transaction, as in `take_turn`: one commit for the whole turn
    instead of a second transaction for the reply (and, unwritten till now, the trainee's line goes in
    with it: a clash on its index is the 409 race, raised by `finish_turn`).
    """
    pieces: list[str] = []
    spoken: conversation.Spoken | None = None
    if pending.request is not None:
        started = time.perf_counter()
        pieces = list(ctx.engine.stream(pending.request))
        spoken = conversation.Spoken(decision=pending.request.decision, reply=_joined(ctx.engine, pieces),
                                     latency_ms=(time.perf_counter() - started) * 1000)
    pair = call_service.finish_turn(db, pending, spoken, lambda: ctx.rubric_in_force(db))
    stored = {"client": client_json(pair.client), "ended": pair.call.ended, "state": pair.call.state}
    return [sse("trainee", trainee_json(pair.trainee)), *(sse("token", {"text": piece}) for piece in pieces),
            _done(stored, pieces)]
