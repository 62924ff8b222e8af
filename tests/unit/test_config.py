"""Settings: defaults, the engine choice, the secret key rules, masking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainer.config import Settings, SettingsError


def test_defaults_point_at_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "var", engine="auto", openai_api_key=None, openai_base_url=None)
    assert s.effective_database_url == f"sqlite:///{(tmp_path / 'var' / 'spin-trainer.db').resolve()}"
    assert s.effective_engine == "scripted"


def test_auto_engine_follows_openai_settings(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, engine="auto", openai_api_key="sk-abc").effective_engine == "llm"
    assert Settings(data_dir=tmp_path, engine="auto", openai_base_url="http://127.0.0.1:1/v1",
                    openai_api_key=None).effective_engine == "llm"
    assert Settings(data_dir=tmp_path, engine="scripted", openai_api_key="sk-abc").effective_engine == "scripted"


def test_env_prefix_and_openai_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIN_TRAINER_DATABASE_URL", "postgresql+psycopg://u:pw@db/x")
    monkeypatch.setenv("SPIN_TRAINER_LLM_MODEL", "qwen2.5")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    s = Settings(data_dir=tmp_path)
    assert s.database_url.endswith("/x") and s.llm_model == "qwen2.5"
    assert s.openai_base_url == "http://127.0.0.1:8080/v1"
    assert s.masked()["database_url"] == "postgresql+psycopg://u:****@db/x"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    first = s.resolved_secret_key()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path / "d").resolved_secret_key() == first
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0, "kept private to its owner"


@pytest.mark.parametrize("value", ["changeme", "secret", "short-key"])
def test_placeholder_or_short_secret_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="SPIN_TRAINER_SECRET_KEY"):
        Settings(data_dir=tmp_path, secret_key=value).resolved_secret_key()


def test_masked_never_shows_secrets(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, secret_key="s" * 40, openai_api_key="sk-" + "a" * 40)
    shown = str(s.masked())
    assert "s" * 40 not in shown and "a" * 40 not in shown


def test_db_concurrency_follows_the_backend_unless_set(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, database_url="").effective_db_concurrency == 2
    pg = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u@127.0.0.1/db")
    assert pg.effective_db_concurrency == min(8, 2 * (os.cpu_count() or 1))
    assert Settings(data_dir=tmp_path, db_concurrency=5).effective_db_concurrency == 5
    with pytest.raises(ValueError, match="db_concurrency"):
        Settings(data_dir=tmp_path, db_concurrency=100)
    assert Settings(data_dir=tmp_path, access_log=False).masked()["access_log"] is False
