"""The statements every turn, call start and call end runs, each built once and given its values at execution.

Building a statement and the cache key SQLAlchemy finds its compiled SQL by cost about as much as running
it on SQLite (`select(...).where(col == value)`: ~70 us of a ~130 us lookup here; loading a call with its
turns through `Session.get`, ~270 us against ~125 us for the same query built once). A statement built
once keeps its cache key. Each is built on first use, not at import.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, Select, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import joinedload, lazyload

from trainer.db.models import ApiToken, Call, PersonaVersion, Scorecard, Turn, WebSession


@cache
def live_token() -> Select[ApiToken]:
    """An API token that is not revoked, by its hash (`token_hash`)."""
    return select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))


@cache
def web_session() -> Select[WebSession]:
    """A browser session by its key's hash (`key_hash`)."""
    return select(WebSession).where(WebSession.key_hash == bindparam("key_hash"))


@cache
def call_with_turns() -> Select[Call]:
    """A call (`call_id`) with its turns joined in (read the result with `.unique()`); its user is not
    loaded, since callers only compare its id."""
    return select(Call).where(Call.id == bindparam("call_id")).options(lazyload(Call.user), joinedload(Call.turns))


@cache
def advance_open_call(ends: bool) -> Update:
    """The director's new state (`new_state`, and `new_ended_at` if `ends`) of a call (`call_id`) that is
    still open. Core: the session keeps no history of it (the caller sets the loaded values itself)."""
    calls: Table = Call.__table__  # type: ignore[assignment]
    values: dict[str, Any] = {"state": bindparam("new_state", type_=calls.c.state.type)}
    if ends:
        values["ended_at"] = bindparam("new_ended_at", type_=calls.c.ended_at.type)
    return update(calls).where(calls.c.id == bindparam("call_id"), calls.c.ended_at.is_(None)).values(values)


@cache
def advance_and_insert_turn(ends: bool) -> Insert:
    """PostgreSQL: `advance_open_call` and a trainee turn's row (`index` ... `created_at`) as one statement
    (a data-modifying WITH), atomic on its own, so it runs in autocommit: one round trip where BEGIN,
    UPDATE, INSERT and COMMIT were four. The turn goes in only if the call was still open: no id back
    means it had ended."""
    calls: Table = Call.__table__  # type: ignore[assignment]
    turns: Table = Turn.__table__  # type: ignore[assignment]
    advanced = advance_open_call(ends).returning(calls.c.id).cte("advanced")
    columns = ("index", "role", "text", "label", "confidence", "detail", "request_key", "created_at")
    row = select(advanced.c.id, *(bindparam(name, type_=turns.c[name].type) for name in columns))
    return insert(turns).from_select(["call_id", *columns], row).returning(turns.c.id)


@cache
def insert_turn(returning_id: bool) -> Insert:
    """One turn's row (every column given as a parameter), with its new id if `returning_id`."""
    statement = insert(Turn)
    return statement.returning(Turn.id) if returning_id else statement


@cache
def turn_by_request_key() -> Select[Turn]:
    """The turn of a call (`call_id`) stored for an Idempotency-Key (`request_key`)."""
    return select(Turn).where(Turn.call_id == bindparam("call_id"), Turn.request_key == bindparam("request_key"))


@cache
def client_turn_at() -> Select[Turn]:
    """The client's turn of a call (`call_id`) at an index (`index`)."""
    return select(Turn).where(Turn.call_id == bindparam("call_id"), Turn.index == bindparam("index"),
                              Turn.role == "client")


@cache
def recent_trainee_lines() -> Select[datetime]:
    """When a user's (`user_id`) latest trainee lines since a moment (`since`) were said, newest first, at
    most `most` of them."""
    return (select(Turn.created_at).join(Call, Call.id == Turn.call_id)
            .where(Call.user_id == bindparam("user_id"), Turn.role == "trainee", Turn.created_at >= bindparam("since"))
            .order_by(Turn.created_at.desc()).limit(bindparam("most")))


@cache
def latest_persona_version() -> Select[PersonaVersion]:
    """The newest version of a persona (`persona_id`): every call starts from it."""
    return (select(PersonaVersion).where(PersonaVersion.persona_id == bindparam("persona_id"))
            .order_by(PersonaVersion.version.desc()).limit(1))


@cache
def latest_scorecard() -> Select[Scorecard]:
    """The newest scorecard of a call (`call_id`)."""
    return select(Scorecard).where(Scorecard.call_id == bindparam("call_id")).order_by(Scorecard.id.desc()).limit(1)


@cache
def lock_call() -> Select[Any]:
    """A call's (`call_id`) end, its row locked for the transaction (PostgreSQL; SQLite has one writer)."""
    return select(Call.ended_at).where(Call.id == bindparam("call_id")).with_for_update()


@cache
def call_counts() -> Select[Any]:
    """How many turns and scorecards a call (`call_id`) has."""
    turns = select(func.count()).select_from(Turn).where(Turn.call_id == bindparam("call_id"))
    cards = select(func.count()).select_from(Scorecard).where(Scorecard.call_id == bindparam("call_id"))
    return select(turns.scalar_subquery(), cards.scalar_subquery())
