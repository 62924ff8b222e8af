"""`create_app(settings)`: the whole web app, built from settings and nothing global.

The lifespan opens the database, syncs persona files into versions, loads the
rubric and the engine, and, on a first start with no users, prints the one-time
setup link. Importing this module does nothing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from trainer import __version__
from trainer.config import Settings
from trainer.db.session import make_engine, make_read_sessionmaker, make_sessionmaker, unit_of_work
from trainer.engines.factory import build_classifier, build_engine
from trainer.scoring.rubric import load_rubric
from trainer.services import accounts
from trainer.services.personas import sync_persona_files
from trainer.spin import embed
from trainer.spin.classifier import warm_up as warm_up_classifier
from trainer.spin.encoder_process import EncoderProcess
from trainer.spin.encoder_wire import EncoderProcessError
from trainer.web import account, api, pages, streaming, trainee_pages, upload
from trainer.web.context import AppContext
from trainer.web.gate import SetupGateAndHeaders
from trainer.web.guards import PageRefused, refused_page
from trainer.web.i18n import install_i18n, load_messages
from trainer.web.manage import router as manage_router
from trainer.web.slots import DbSlots

log = logging.getLogger("trainer")

WORKER_THREADS = 200
# How long a thread may keep the GIL while another waits for it. Python's 5 ms default means a worker back
# from each database round trip waits up to 5 ms for the event loop or a busy worker to let go, and a turn
# makes a dozen round trips: under load that was most of a turn's time on PostgreSQL.
GIL_SWITCH_INTERVAL_S = 0.0005
# Allocations (less deallocations) between two collections of the youngest generation, in a serving process.
GC_YOUNG_THRESHOLD = 20_000


def build_context(settings: Settings) -> AppContext:
    db_engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(db_engine)
    templates = Jinja2Templates(directory=str(settings.templates_dir))
    messages = load_messages(settings.content_dir / "web" / "locales")
    install_i18n(templates, messages)
    ctx = AppContext(settings=settings, db_engine=db_engine, sessions=sessions, engine=build_engine(settings),
                     rubric=load_rubric(settings.rubrics_dir / "spin.yaml"), templates=templates,
                     secret_key=settings.resolved_secret_key(), messages=messages,
                     classifier=build_classifier(settings),
                     db_slots=DbSlots(settings.effective_db_concurrency),
                     read_sessions=make_read_sessionmaker(db_engine))
    warm_up_classifier()
    with unit_of_work(sessions) as db:
        ctx.persona_problems = sync_persona_files(db, settings.personas_dir)
        ctx.has_users = accounts.user_count(db) > 0
        if not ctx.has_users:
            token = accounts.create_setup_link(db)
            ctx.setup_url = f"{settings.base_url()}/setup?token={token}"
    return ctx


def freeze_startup_heap() -> None:
    """Hide what startup built (modules, the classifier's model, the app) from the garbage collector, and
    collect the young generation less often.

    Those objects live as long as the process, yet every full collection walked all of them: in a server
    at 200 streamed turns a second that was ~210,000 objects and a 150 ms stop of every request every
    five seconds or so, the largest part of the 95th percentile. Frozen, a full collection walks only
    what was made since. A request makes and drops thousands of objects, so Python's default young
    threshold (700) ran a collection 17 times a second and an older one every 0.6 s: 616 ms of stops in
    30 s at 200 streamed trainees, against 31 ms at `GC_YOUNG_THRESHOLD` (docs/benchmarks.md, round 6).
    For a process that serves (`spin-trainer serve`), not for tests or embedders.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def start_encoder_process() -> EncoderProcess | None:
    """Encode sentences in a child process from now on (why: trainer.spin.encoder_process); if it cannot
    start, say so and encode in this process, as without it."""
    try:
        return embed.encode_in_child_process()
    except (OSError, EncoderProcessError) as exc:
        print(f"spin-trainer: sentence encoder process not started ({exc}); encoding in the server process",
              file=sys.stderr, flush=True)
        return None


def create_app(settings: Settings, *, freeze_heap: bool = False, encoder_process: bool = False) -> FastAPI:
    """The app; `freeze_heap=True` (the server's own process) calls `freeze_startup_heap` once started, and
    `encoder_process=True` moves the sentence encoder to a child process before the classifier warms up
    (see `start_encoder_process`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        child = start_encoder_process() if encoder_process else None
        ctx = build_context(settings)
        ctx.loop = asyncio.get_running_loop()
        app.state.ctx = ctx
        # Sync handlers, dependencies and DB work run on worker threads (streamed replies hold none): headroom.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        if freeze_heap:
            freeze_startup_heap()
        for problem in ctx.persona_problems:
            print(f"spin-trainer: persona skipped: {problem}", file=sys.stderr, flush=True)
        if ctx.setup_url:
            print(f"\n  No accounts yet. Create the first admin here (one-time link):\n  {ctx.setup_url}\n",
                  flush=True)
        try:
            yield
        finally:
            aclose = getattr(ctx.engine, "aclose", None)
            if callable(aclose):  # the LLM engine's async client lives on this loop: close it here
                await aclose()
            ctx.db_engine.dispose()
            if child is not None:
                embed.encode_in_this_process()
                child.close()

    app = FastAPI(title="SPIN Trainer", version=__version__, lifespan=lifespan,
                  description="Cold-call practice with SPIN-labelled questions and evidence-based scorecards. "
                              "Authenticate with `Authorization: Bearer <token>` (see `spin-trainer tokens "
                              "create`) or a browser session plus the `X-CSRF-Token` header.")

    app.add_middleware(SetupGateAndHeaders)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _explain(exc)})

    @app.exception_handler(UnicodeEncodeError)
    async def unencodable_text(request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        """Text neither the database nor UTF-8 takes: a JSON "\\ud800" escape without its pair
        (trainer.textcheck). A line and a transcript are checked where they arrive, the field named; this
        answers any other field with a 422 instead of a crash."""
        char = ord(exc.object[exc.start])
        return JSONResponse(status_code=422, content={
            "detail": f"the request holds text with an unpaired UTF-16 surrogate (\\u{char:04x}); send valid "
                      "Unicode text"})

    app.add_exception_handler(PageRefused, refused_page)
    app.include_router(api.router)
    app.include_router(streaming.router)
    app.include_router(account.router)
    app.include_router(upload.router)
    app.include_router(pages.router)
    app.include_router(trainee_pages.router)
    app.include_router(manage_router)
    app.mount("/static", StaticFiles(directory=str(settings.static_dir)), name="static")
    return app


def _explain(exc: RequestValidationError) -> str:
    """Pydantic's errors as one sentence per problem, naming the field."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",)) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts)


def from_env() -> FastAPI:
    """App factory for `uvicorn --factory trainer.app:from_env` (several workers): settings from the env."""
    from trainer.config import load_settings

    settings = load_settings()
    return create_app(settings, freeze_heap=True, encoder_process=settings.encoder_process)
