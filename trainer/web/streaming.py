"""`POST /api/calls/{id}/turns/stream`: the label at once, then the client's reply as it is spoken.

Server-sent events, in order:
  event: trainee  data: the stored trainee turn (index, text, label, letter, reason, ...)
  event: token    data: {"text": piece}            (zero or more)
  event: done     data: {"client": {...} | null, "ended": bool, "state": {...}, "replaced": bool}
                  (replaced: the streamed words were swapped for the stored line; show client.text)
  event: error    data: {"detail": message}        (instead of done, if storing the reply failed)
The trainee turn and the director's decision are committed before the engine
speaks, so a reply that fails midway never loses the trainee's words.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Generator, Iterator
from typing import Any

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import StreamingResponse

from trainer import conversation
from trainer.db.models import Call
from trainer.db.session import unit_of_work
from trainer.engines.base import Engine, VoiceReply, VoiceRequest
from trainer.services import calls as call_service
from trainer.services.calls import CallError, Pending
from trainer.services.rubric_admin import current_rubric
from trainer.web.api import TurnIn
from trainer.web.context import AppContext
from trainer.web.deps import DB, AuthWrite, Ctx
from trainer.web.serialize import client_json, trainee_json

router = APIRouter()


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def speak_streaming(engine: Engine, request: VoiceRequest) -> Generator[str | conversation.Spoken, None, None]:
    """Yield the reply's pieces, then the finished `Spoken` (words, model, tokens, latency).

    If the consumer stops early (the browser went away), the engine's stream is closed and the
    finished line is still produced by `finish`, so the turn is stored all the same.
    """
    started = time.perf_counter()
    stream_reply = getattr(engine, "stream_reply", None)
    if callable(stream_reply):
        streamed = stream_reply(request)
        try:
            yield from streamed
        finally:
            if not streamed.done:
                streamed.close()
        reply: VoiceReply = streamed.reply
    else:
        pieces = []
        for piece in engine.stream(request):
            pieces.append(piece)
            yield piece
        reply = VoiceReply(text="".join(pieces).strip(), engine=engine.name)
    yield conversation.Spoken(decision=request.decision, reply=reply,
                              latency_ms=(time.perf_counter() - started) * 1000)


def _store(ctx: AppContext, call_id: int, trainee_index: int, spoken: conversation.Spoken | None
           ) -> dict[str, Any]:
    with unit_of_work(ctx.sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        trainee = next(t for t in call.turns if t.index == trainee_index)
        pair = call_service.finish_turn(db, Pending(call=call, trainee=trainee, decision=None, request=None),
                                        spoken, current_rubric(db, ctx.rubric))
        return {"client": client_json(pair.client), "ended": pair.call.ended, "state": pair.call.state}


def _events(ctx: AppContext, call_id: int, pending_turn: dict[str, Any], request: VoiceRequest | None,
            trainee_index: int) -> Iterator[str]:
    yield sse("trainee", pending_turn)
    spoken: conversation.Spoken | None = None
    streamed: list[str] = []
    if request is not None:
        pieces = speak_streaming(ctx.engine, request)
        try:
            for item in pieces:
                if isinstance(item, str):
                    streamed.append(item)
                    yield sse("token", {"text": item})
                else:
                    spoken = item
        except GeneratorExit:
            # The browser left mid-reply: close the engine's stream and still store the line.
            pieces.close()
            with contextlib.suppress(Exception):
                _store(ctx, call_id, trainee_index, _closed(request))
            raise
    try:
        done = _store(ctx, call_id, trainee_index, spoken)
    except Exception:
        yield sse("error", {"detail": "the reply could not be stored; reload the page to see the call"})
        return
    # A reply replaced mid-stream (the model failed after some pieces) must be shown as stored.
    done["replaced"] = bool(done["client"]) and done["client"]["text"] != "".join(streamed).strip()
    yield sse("done", done)


def _closed(request: VoiceRequest) -> conversation.Spoken:
    """The line stored for a reply the trainee did not wait for: the scripted words of the decision."""
    from trainer.engines.scripted import ScriptedEngine

    spoken = conversation.speak_request(ScriptedEngine(), request)
    notice = call_service.INTERRUPTED.get(request.lang, call_service.INTERRUPTED["en"])
    return dataclasses.replace(spoken, reply=dataclasses.replace(spoken.reply, notice=notice))


@router.post("/api/calls/{call_id}/turns/stream", tags=["calls"],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "events: trainee, token..., done (or error)"}})
def post_turn_stream(call_id: int, body: TurnIn, db: DB, ctx: Ctx, who: AuthWrite,
                     idempotency_key: str | None = Header(default=None)) -> StreamingResponse:
    """Say something and receive the label at once, then the client's reply as a stream."""
    try:
        call = call_service.call_to_speak_in(db, who.user, call_id, ctx.settings.turns_per_minute,
                                             idempotency_key)
        pending = call_service.begin_turn_safely(db, call, body.text, ctx.settings.max_turn_chars,
                                                 idempotency_key, ctx.classifier)
        if isinstance(pending, call_service.TurnPair):
            replay = [sse("trainee", trainee_json(pending.trainee)),
                      sse("done", {"client": client_json(pending.client), "ended": call.ended,
                                   "state": call.state})]
            return StreamingResponse(iter(replay), media_type="text/event-stream")
    except CallError as exc:
        raise HTTPException(exc.status, exc.message, headers=exc.headers) from None
    first = trainee_json(pending.trainee)
    # The request's session commits when this function returns, before the body streams.
    return StreamingResponse(_events(ctx, call.id, first, pending.request, pending.trainee.index),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
