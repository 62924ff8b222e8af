"""Migrations, constraints and the account/persona/call services against real databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import PG_ADMIN_URL, PgDatabase
from trainer.config import project_root
from trainer.db.base import utcnow
from trainer.db.migrate import current_heads, downgrade, upgrade
from trainer.db.models import ApiToken, Call, PersonaVersion, Turn, User
from trainer.db.session import make_engine, unit_of_work
from trainer.engines.scripted import ScriptedEngine
from trainer.scoring.rubric import default_rubric_path, load_rubric
from trainer.services import accounts, call_access
from trainer.services import calls as call_service
from trainer.services.personas import latest_versions, sync_persona_files
from trainer.services.privacy import export_user

TABLES = {"users", "api_tokens", "web_sessions", "setup_links", "persona_versions", "calls", "turns", "scorecards",
          "label_corrections", "turn_comments", "audit_log", "rubric_versions", "invites", "sign_in_attempts"}


def test_migrations_up_and_down(db_url: str) -> None:
    upgrade(db_url)
    assert current_heads(db_url) == {"0004"}
    from trainer.db.session import make_engine

    eng = make_engine(db_url)
    assert set(inspect(eng).get_table_names()) >= TABLES
    eng.dispose()
    downgrade(db_url, "base")
    eng = make_engine(db_url)
    assert not TABLES & set(inspect(eng).get_table_names())
    eng.dispose()
    upgrade(db_url)
    assert current_heads(db_url) == {"0004"}


def test_models_match_the_migrations(engine: Engine) -> None:
    """A model change without a migration shows up here, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from trainer.db.base import Base

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_sqlite_runs_with_wal_and_foreign_keys(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_tokens_are_stored_hashed(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as db:
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        token = accounts.create_token(db, user, "ci")
    with unit_of_work(sessions) as db:
        stored = db.scalars(select(ApiToken.token_hash)).all()
        assert token not in stored and len(stored) == 1
        found = accounts.user_for_token(db, token)
        assert found is not None and found.name == "ann"
        assert accounts.user_for_token(db, token + "x") is None
        assert accounts.authenticate(db, "ann", "long enough pw") is not None
        assert accounts.authenticate(db, "ann", "wrong") is None
        assert "argon2" in db.scalar(select(accounts.User.password_hash)).lower()  # type: ignore[union-attr]


def test_every_stored_time_comes_back_in_utc_with_its_zone(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as db:
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        accounts.create_token(db, user, "ci")
    with unit_of_work(sessions) as db:  # read afresh: SQLite keeps no zone, the column type gives it back
        user = db.scalars(select(User)).one()
        token_time = db.scalar(select(ApiToken.created_at))
        assert user.created_at.tzinfo is not None and user.created_at.utcoffset() == timedelta(0)
        assert token_time is not None and token_time.utcoffset() == timedelta(0)
        assert abs(utcnow() - user.created_at) < timedelta(minutes=5)
        exported = export_user(db, user, lambda call, card: {})
        assert exported["user"]["created_at"].endswith("+00:00"), exported["user"]
        assert exported["api_tokens"][0]["created_at"].endswith("+00:00"), exported["api_tokens"]


def test_account_errors_say_what_to_fix(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as db:
        accounts.create_user(db, "ann", "trainee", "long enough pw")
        for name, role, pw, words in [("ann", "trainee", "long enough pw", "already exists"),
                                      ("bob", "boss", "long enough pw", "use one of"),
                                      ("bob", "trainee", "short", "8 characters"),
                                      ("two words", "trainee", "long enough pw", "one word")]:
            with pytest.raises(accounts.AccountError, match=words):
                accounts.create_user(db, name, role, pw)


def test_persona_files_become_versions_once(sessions: sessionmaker[Session], tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = project_root() / "personas"
    first = sorted(source.glob("*.yaml"))[0]
    folder = tmp_path / "personas"
    folder.mkdir()
    target = folder / first.name
    target.write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    with unit_of_work(sessions) as db:
        assert sync_persona_files(db, folder) == []
    with unit_of_work(sessions) as db:
        sync_persona_files(db, folder)
        assert [v.version for v in db.scalars(select(PersonaVersion))] == [1], "unchanged file adds nothing"
    target.write_text(target.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with unit_of_work(sessions) as db:
        sync_persona_files(db, folder)
        assert [v.version for v in latest_versions(db)] == [2]
    (folder / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with unit_of_work(sessions) as db:
        problems = sync_persona_files(db, folder)
        assert problems and "broken.yaml" in problems[0]


def test_turns_are_append_only_and_unique(sessions: sessionmaker[Session]) -> None:
    rubric = load_rubric(default_rubric_path())
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        persona_id = latest_versions(db)[0].persona_id
        call = call_service.start_call(db, user, persona_id, "en", ScriptedEngine())
        call_service.take_turn(db, call, "How do you handle deliveries today?", ScriptedEngine(), 2000, rubric)
        call_id = call.id
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        assert [t.index for t in call.turns] == list(range(len(call.turns)))
        card = call_service.end_call(db, call, rubric)
        assert card.rubric_id == rubric.id and card.rubric_version == rubric.version
        assert card.data["rubric"] == {"id": rubric.id, "version": rubric.version}
    with pytest.raises(IntegrityError), unit_of_work(sessions) as db:
        db.add(Turn(call_id=call_id, index=0, role="client", text="duplicate index", detail={}))
        db.flush()
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        assert call_service.end_call(db, call, rubric).id == card.id, "ending again keeps the first scorecard"


def test_foreign_keys_are_enforced(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), unit_of_work(sessions) as db:
        db.add(Turn(call_id=424242, index=0, role="client", text="orphan", detail={}))
        db.flush()


def test_restart_keeps_a_trainers_edit_and_the_enabled_flag(sessions: sessionmaker[Session], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from trainer.services.personas import add_version, latest_version

    source = project_root() / "personas" / "no-time.yaml"
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "no-time.yaml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    with unit_of_work(sessions) as db:
        sync_persona_files(db, folder)
        edited = add_version(db, "no-time", source.read_text(encoding="utf-8") + "\n# trainer's edit\n", None)
        edited.enabled = False
    with unit_of_work(sessions) as db:
        sync_persona_files(db, folder)  # a restart with the unchanged file
        latest = latest_version(db, "no-time")
        assert latest is not None and latest.version == 2 and latest.enabled is False
    (folder / "no-time.yaml").write_text(source.read_text(encoding="utf-8") + "\n# new release\n", encoding="utf-8")
    with unit_of_work(sessions) as db:
        sync_persona_files(db, folder)
        latest = latest_version(db, "no-time")
        assert latest is not None and latest.version == 3 and latest.enabled is False


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(pg_database: PgDatabase) -> None:
    """Server databases: an idle pooled connection is pinged before use, and a dead one replaced, so a
    database restart costs no request an error; one just given back is used without that round trip."""
    def backend_pid(engine: Engine) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def kill(pid: int) -> None:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        finally:
            admin.dispose()

    pinged = make_engine(pg_database.url, ping_idle_s=0.0, pool_size=1, max_overflow=0)
    try:
        first = backend_pid(pinged)
        kill(first)
        assert backend_pid(pinged) != first, "the dead connection was replaced, the request went through"
    finally:
        pinged.dispose()

    trusted = make_engine(pg_database.url, ping_idle_s=3600.0, pool_size=1, max_overflow=0)
    try:
        first = backend_pid(trusted)
        kill(first)
        with pytest.raises(OperationalError):  # no ping within the window: the trade-off, once
            backend_pid(trusted)
        assert backend_pid(trusted) != first, "the pool dropped the dead connection after the error"
    finally:
        trusted.dispose()


def test_a_turn_reads_its_call_and_turns_in_one_statement(sessions: sessionmaker[Session], engine: Engine) -> None:
    """Each statement is a round trip on PostgreSQL: the call a line is said in comes with its turns in one
    query, and a scripted turn writes the state and its two lines and nothing else, the two lines in one
    INSERT there (SQLAlchemy batches them where the driver returns the new ids for several rows)."""
    from sqlalchemy import event

    rubric = load_rubric(default_rubric_path())
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        call = call_service.start_call(db, user, latest_versions(db)[0].persona_id, "en", ScriptedEngine())
        call_service.take_turn(db, call, "How do you handle deliveries today?", ScriptedEngine(), 2000, rubric)
        call_id, user_id = call.id, user.id
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _conn, _cur, statement, *_: statements.append(" ".join(statement.split()[:4])))
    with unit_of_work(sessions) as db:
        user = db.get(User, user_id)
        assert user is not None
        statements.clear()
        call = call_access.call_to_speak_in(db, user, call_id, per_minute=0)
        assert len(call.turns) == 3
        call_service.take_turn(db, call, "How many sites do you run?", ScriptedEngine(), 2000, rubric)
    kinds = [s.split()[0] for s in statements if not s.startswith("BEGIN")]
    assert kinds.count("SELECT") == 1, statements
    one_insert = engine.dialect.name == "postgresql"
    assert kinds == ["SELECT", "UPDATE", *(["INSERT"] if one_insert else ["INSERT", "INSERT"])], statements
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        assert [(t.index, t.role) for t in call.turns][-2:] == [(3, "trainee"), (4, "client")]


def test_two_lines_said_at_once_in_one_call_store_one_and_refuse_the_other(sessions: sessionmaker[Session]) -> None:
    """Both requests read the call before either wrote: the second clashes on the turn's index and gets a
    409 (send it again), and none of its words are stored, the trainee's line included."""
    from trainer.db.session import begin_read

    rubric = load_rubric(default_rubric_path())
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        call_id = call_service.start_call(db, user, latest_versions(db)[0].persona_id, "en", ScriptedEngine()).id
        user_id = user.id
    late = sessions()
    try:
        begin_read(late)  # as the web layer reads: on SQLite the read holds no writer's place
        late_user = late.get(User, user_id)
        assert late_user is not None
        late_call = call_access.call_to_speak_in(late, late_user, call_id, per_minute=0)
        with unit_of_work(sessions) as db:
            first_user = db.get(User, user_id)
            assert first_user is not None
            first = call_access.call_to_speak_in(db, first_user, call_id, per_minute=0)
            call_service.take_turn(db, first, "How many sites do you run?", ScriptedEngine(), 2000, rubric)
        with pytest.raises(call_service.CallError) as refused:
            call_service.take_turn(late, late_call, "How do you handle deliveries today?", ScriptedEngine(), 2000,
                                   rubric)
        assert refused.value.status == 409 and "send yours again" in refused.value.message
    finally:
        late.rollback()
        late.close()
    with unit_of_work(sessions) as db:
        call = db.get(Call, call_id)
        assert call is not None
        assert [(t.index, t.role) for t in call.turns] == [(0, "client"), (1, "trainee"), (2, "client")]
        assert call.turns[1].text == "How many sites do you run?"


def test_a_line_written_at_once_joins_the_loaded_transcript_once(sessions: sessionmaker[Session]) -> None:
    """The trainee's line goes in with one INSERT of its own, outside the unit of work: the call's loaded
    turns include it (a hang-up in the same transaction scores it) and the commit does not write it again."""
    rubric = load_rubric(default_rubric_path())
    with unit_of_work(sessions) as db:
        sync_persona_files(db, project_root() / "personas")
        user = accounts.create_user(db, "ann", "trainee", "long enough pw")
        call = call_service.start_call(db, user, latest_versions(db)[0].persona_id, "en", ScriptedEngine())
        pending = call_service.begin_turn(db, call, "How many sites do you run?", 2000, request_key="key-1")
        assert pending.trainee.id is not None and pending.trainee in db
        assert [(t.index, t.role) for t in call.turns] == [(0, "client"), (1, "trainee")]
        card = call_service.end_call(db, call, rubric)  # repairs the unanswered line, then scores the call
        assert [(t.index, t.role) for t in call.turns] == [(0, "client"), (1, "trainee"), (2, "client")]
        call_id = call.id
    with unit_of_work(sessions) as db:
        stored = db.scalars(select(Turn).where(Turn.call_id == call_id).order_by(Turn.index)).all()
        assert [(t.index, t.role, t.request_key) for t in stored] == [
            (0, "client", None), (1, "trainee", "key-1"), (2, "client", None)]
        assert stored[1].label == pending.trainee.label and stored[1].detail == pending.trainee.detail
        call = db.get(Call, call_id)
        assert call is not None and call_service.latest_scorecard(db, call) is not None
        assert call_service.latest_scorecard(db, call).id == card.id  # type: ignore[union-attr]
