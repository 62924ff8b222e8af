"""The JSON API under /api and /healthz. Bearer token or browser session (with CSRF) auth."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from trainer.conversation import CONTEXT_TURNS
from trainer.db.models import Call
from trainer.services import call_access
from trainer.services import calls as call_service
from trainer.services.calls import CallError
from trainer.services.personas import listed_personas, persona_of
from trainer.services.scorecards import hang_up
from trainer.spin.classifier import classify, label_ahead, prefetch_vectors
from trainer.spin.llm import LLMClassifier
from trainer.spin.types import Classification
from trainer.web.context import AppContext
from trainer.web.deps import (
    DB,
    Auth,
    AuthWrite,
    Caller,
    Credentials,
    Ctx,
    Principal,
    commit_here,
    credentials_of,
    signed_in_writer,
)
from trainer.web.recent import ReplyBasis
from trainer.web.serialize import call_json, client_json, persona_json, scorecard_json, trainee_json

router = APIRouter()


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    persona: str = Field(description="persona id, as listed by GET /api/personas")
    lang: Literal["ru", "en"] = Field(description="language of the call")
    mode: Literal["practice", "exam"] = Field(default="practice",
                                              description="exam hides labels and coaching until the call ends")


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="what the trainee says; at most 2,000 characters")


@dataclass(frozen=True, slots=True)
class LineAhead:
    """A turn's line sent ahead on arrival (`line_ahead`): its call, the line as the turn will clean it, and
    its label to come when one was begun (None: only its encoding was)."""

    call_id: int
    text: str
    label: Future[Classification | None] | None
    user_id: int | None  # who the caller signed in as lately, in this process (RecentWriters.writer)


async def line_ahead(request: Request, ctx: AppContext, caller: Credentials) -> LineAhead | None:
    """The line of a caller who signed in as a writer lately, sent to the encoder now, before the request
    waits for a database place and signs in (trainer.web.recent: why, and why not a stranger's)."""
    if not ctx.recent_writers.knows(caller):
        return None
    user_id = ctx.recent_writers.writer(caller)
    try:
        body = await request.json()  # parsed once already, before the dependencies: Starlette keeps it
    except ValueError:
        return None  # the route answers a body that is not JSON
    line = body.get("text") if isinstance(body, dict) else None
    call_id = str(request.path_params.get("call_id", ""))
    if isinstance(line, str) and call_id.isdigit():
        return _label_ahead(ctx, int(call_id), line, user_id)
    return None


async def early_caller(request: Request, ctx: Ctx, caller: Caller) -> Credentials:
    """`Caller`, with the line sent ahead (`line_ahead`). Declared before `DB` in a turn route, so that it
    runs before the wait for a database place."""
    if await line_ahead(request, ctx, caller) is None:
        return caller
    return replace(caller, line_sent=True)


EarlyCaller = Annotated[Credentials, Depends(early_caller)]


def turn_writer(db: Session, ctx: AppContext, caller: Credentials, call_id: int, line: str) -> Principal:
    """The start of a turn route: the transaction begun as the turn needs it (`calls.begin_turn_read`, which
    the sign-in reads in), the signed-in writer, and their line's label begun ahead (unless `early_caller`
    began it already)."""
    call_service.begin_turn_read(db, ctx.engine)
    who = signed_in_writer(db, caller)
    ctx.recent_writers.saw(caller, who.user.id)
    if not caller.line_sent:
        _label_ahead(ctx, call_id, line, who.user.id)
    return who


def _label_ahead(ctx: AppContext, call_id: int, line: str, user_id: int | None) -> LineAhead | None:
    """Begin a writer's line's label before the call is loaded, in the call's context as this process last
    stored it (`classifier.label_ahead`), or, with no such context, begin encoding it
    (`classifier.prefetch_vectors`): the shipped classifiers read sentence vectors. A line the turn will
    refuse is not sent (None)."""
    if ctx.classifier is not classify and not isinstance(ctx.classifier, LLMClassifier):
        return None
    try:
        cleaned = call_service.clean_text(line, ctx.settings.max_turn_chars)
    except CallError:
        return None  # the turn refuses it with this error
    guess = ctx.recent_contexts.guess(call_id)
    if guess is None:
        prefetch_vectors(cleaned)
        return LineAhead(call_id, cleaned, None, user_id)
    lang, context = guess
    return LineAhead(call_id, cleaned, label_ahead(cleaned, context, lang), user_id)


def remember_call(ctx: AppContext, call: Call) -> None:
    """A call that goes on, with the turns just stored: its next line's label may begin on arrival, in the
    context of these turns (`_label_ahead`), and, with an engine read on the event loop, its reply too
    (trainer.web.ahead)."""
    if call.ended:
        return
    lang = call_service.check_lang(call.lang)  # checked when the call began and again by the turn
    if not callable(getattr(ctx.engine, "astream_reply", None)):
        ctx.recent_contexts.remember(call.id, lang, call_service.history_of(call, CONTEXT_TURNS))
        return
    history = tuple(call_service.history_of(call))
    ctx.recent_contexts.remember(call.id, lang, history,
                                 ReplyBasis(call.user_id, persona_of(call.persona_version), call.state, call.seed,
                                            history))


def answer(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    """A route's JSON, rendered here. Returned as a plain dict, FastAPI would check it against the route's
    `response_model` (for a sync route on a worker thread of its own: one more hop to a thread and back)
    and serialize it a second time; the API's shapes are built in `serialize` and need neither."""
    return JSONResponse(content, status_code=status_code)


def _raise(exc: CallError) -> HTTPException:
    return HTTPException(exc.status, exc.message, headers=exc.headers)


@router.get("/healthz", tags=["health"])
def healthz(ctx: Ctx, response: Response) -> dict[str, str]:
    """`ok` when the database answers; 503 otherwise."""
    try:
        with ctx.db_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        response.status_code = 503
        return {"status": "unavailable", "detail": "the database does not answer"}
    return {"status": "ok"}


@router.get("/api/personas", tags=["personas"])
def list_personas(db: DB, _: Auth, lang: Annotated[Literal["ru", "en"], Query()] = "en") -> list[dict[str, Any]]:
    """Personas to practise with; names and summaries in `lang`."""
    return [persona_json(p, lang) for p in listed_personas(db)]


@router.post("/api/calls", status_code=201, tags=["calls"], response_model=dict[str, Any])
def create_call(body: CallIn, request: Request, db: DB, ctx: Ctx, who: AuthWrite) -> JSONResponse:
    """Start a call; the client picks up, and its line is the first turn."""
    try:
        call = call_service.start_call(db, who.user, body.persona, body.lang, ctx.engine, body.mode)
    except CallError as exc:
        raise _raise(exc) from None
    out = call_json(call)
    commit_here(db)
    call_started(ctx, request, who, call)
    return answer(out, 201)


def call_started(ctx: AppContext, request: Request, who: Principal, call: Call) -> None:
    """A call its writer just started and committed: their first line's label and reply may begin on
    arrival too (`remember_call`), the credentials counting as a writer's seen lately."""
    ctx.recent_writers.saw(credentials_of(request), who.user.id)
    remember_call(ctx, call)


@router.get("/api/calls", tags=["calls"])
def get_calls(db: DB, who: Auth, limit: Annotated[int, Query(ge=1, le=200)] = 50,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Calls the caller may see, newest first."""
    rows, total = call_access.list_calls(db, who.user, limit, offset)
    items = [call_json(c, call_service.latest_scorecard(db, c), full=False) for c in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/api/calls/{call_id}", tags=["calls"], response_model=dict[str, Any])
def get_call(call_id: int, db: DB, who: Auth) -> JSONResponse:
    try:
        call = call_access.get_call_for(db, who.user, call_id)
    except CallError as exc:
        raise _raise(exc) from None
    return answer(call_json(call, call_service.latest_scorecard(db, call)))


@router.post("/api/calls/{call_id}/turns", tags=["calls"], response_model=dict[str, Any])
def post_turn(call_id: int, body: TurnIn, caller: EarlyCaller, db: DB, ctx: Ctx,
              idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Say something; get its label and the client's answer.

    Send an `Idempotency-Key` header to make a retry safe: the same key is stored once and
    answered the same.
    """
    who = turn_writer(db, ctx, caller, call_id, body.text)
    try:
        call = call_access.call_to_speak_in(db, who.user, call_id, ctx.settings.turns_per_minute,
                                             idempotency_key)
        # The rubric in force is looked up only if this turn ends the call and it must be scored.
        pair = call_service.take_turn(db, call, body.text, ctx.engine, ctx.settings.max_turn_chars,
                                      lambda: ctx.rubric_in_force(db), idempotency_key, ctx.classifier,
                                      ctx.db_slots.released)
    except CallError as exc:
        raise _raise(exc) from None
    out = {"trainee": trainee_json(pair.trainee), "client": client_json(pair.client),
           "ended": pair.call.ended, "state": pair.call.state}
    commit_here(db)
    remember_call(ctx, pair.call)
    return answer(out)


@router.post("/api/calls/{call_id}/end", tags=["calls"], response_model=dict[str, Any])
def end_call(call_id: int, db: DB, ctx: Ctx, who: AuthWrite) -> JSONResponse:
    """Hang up and get the scorecard. Calling it again returns the same scorecard."""
    try:  # scored before the writing transaction: see trainer.services.scorecards
        card = hang_up(db, who.user, call_id, ctx.rubric_in_force)
    except CallError as exc:
        raise _raise(exc) from None
    out = {"scorecard": scorecard_json(card)}
    commit_here(db)
    return answer(out)
