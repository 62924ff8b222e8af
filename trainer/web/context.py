"""What the app builds once at start-up and every request reads: no module-level globals."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from trainer.config import Settings
from trainer.conversation import Classifier
from trainer.engines.base import Engine
from trainer.scoring.rubric import Rubric
from trainer.services.rubric_admin import current_rubric
from trainer.web.i18n import Messages
from trainer.web.recent import RecentContexts, RecentWriters
from trainer.web.slots import DbSlots


@dataclass
class AppContext:
    settings: Settings
    db_engine: DbEngine
    sessions: sessionmaker[Session]
    engine: Engine
    rubric: Rubric
    templates: Jinja2Templates
    secret_key: str
    messages: Messages
    classifier: Classifier
    # Requests that may hold a DB session at once (`Settings.effective_db_concurrency`), below the pool size
    # (trainer.db.session.POOL_SIZE).
    db_slots: DbSlots
    # Sessions for requests that only read (GET and HEAD: trainer.web.deps.get_db).
    read_sessions: sessionmaker[Session]
    has_users: bool = False
    setup_url: str | None = None
    persona_problems: list[str] = field(default_factory=list)
    # The server's event loop, set once it runs: the one place a worker thread may hand async work to
    # (trainer.web.early.EarlyReply). None outside a running app.
    loop: asyncio.AbstractEventLoop | None = None
    # Who signed in as a writer lately: their lines go to the encoder on arrival (trainer.web.recent).
    recent_writers: RecentWriters = field(default_factory=RecentWriters)
    # The last turns of the calls this process stored lines of: their next line's label begins on arrival.
    recent_contexts: RecentContexts = field(default_factory=RecentContexts)

    def rubric_in_force(self, db: Session) -> Rubric:
        """The rubric new scorecards use: the newest version trainers saved, else the file's."""
        return current_rubric(db, self.rubric)
