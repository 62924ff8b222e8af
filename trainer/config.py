"""Settings from the environment (prefix SPIN_TRAINER_), built once per process and passed down.

Nothing here is global: `create_app(settings)` and the CLI each build their own
`Settings`, so tests make as many independent apps as they like.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from trainer.services.signin import Throttle

EngineChoice = Literal["scripted", "llm", "auto"]

# Values that appear in docs, examples and templates: never accepted as a real secret.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "secret-key", "your-secret-key", "dev", "test",
     "please-change-me", "xxx", "placeholder"}
)
MIN_SECRET_LENGTH = 32


def project_root() -> Path:
    """The folder that holds personas/, rubrics/ and web/ (the repo root in a checkout or image)."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "personas").is_dir() else Path.cwd()


class SettingsError(ValueError):
    """A setting has a value the app refuses; the message says which one and how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPIN_TRAINER_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: SecretStr | None = None
    engine: EngineChoice = "auto"
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 30.0
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SPIN_TRAINER_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SPIN_TRAINER_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    content_dir: Path = Field(default_factory=project_root)
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    session_max_age_s: int = 14 * 24 * 3600
    secure_cookies: bool = False
    max_turn_chars: int = 2000
    shutdown_grace_s: int = 20  # on SIGTERM, in-flight turns get this long to finish
    # requests that work in the database at once; 0 picks by backend (SQLite 2, PostgreSQL 2 per core, at most 8)
    db_concurrency: int = Field(default=0, ge=0, le=32)
    access_log: bool = False  # one stdout line per request; off by default (a proxy in front usually logs)
    sign_in_max_failures: int = 5  # failed passwords in a row before an account is locked for a while
    sign_in_lockout_s: int = 15 * 60
    turns_per_minute: int = 30  # per trainee, across all their calls; 0 turns the limit off (LLM cost control)
    # a streamed reply's words are relayed at most this often; words arriving in between go out together
    stream_flush_ms: int = Field(default=50, ge=0, le=1000)
    # `serve` encodes sentences in a child process (trainer.spin.encoder_process); off: in the server itself
    encoder_process: bool = True
    # a streamed line's reply is asked for on arrival, with the request this process guesses the turn makes
    # (trainer.web.ahead); a wrong guess costs a model request cut short. Off: asked once the turn has it
    reply_ahead: bool = True

    @field_validator("database_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    # --- derived values ---------------------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'spin-trainer.db').resolve()}"

    @property
    def effective_db_concurrency(self) -> int:
        """SQLite runs one transaction at a time, so more than two requests inside it only queue on the
        GIL and the write lock (a convoy that cost seconds under load); PostgreSQL overlaps its round
        trips: two per core (at most eight) keep the cores busy; more wait for the GIL in the database
        (on two cores, 8 gave a p95 of 36 ms at 50 trainees where 4 gave 28)."""
        if self.db_concurrency:
            return self.db_concurrency
        if self.effective_database_url.startswith("sqlite"):
            return 2
        return min(8, 2 * (os.cpu_count() or 1))

    @property
    def effective_engine(self) -> Literal["scripted", "llm"]:
        """`auto` means llm when an OpenAI key or base URL is configured, else scripted."""
        if self.engine == "auto":
            return "llm" if (self.openai_api_key or self.openai_base_url) else "scripted"
        return self.engine

    @property
    def personas_dir(self) -> Path:
        return self.content_dir / "personas"

    @property
    def rubrics_dir(self) -> Path:
        return self.content_dir / "rubrics"

    @property
    def templates_dir(self) -> Path:
        return self.content_dir / "web" / "templates"

    @property
    def static_dir(self) -> Path:
        return self.content_dir / "web" / "static"

    def sign_in_throttle(self) -> Throttle:
        from trainer.services.signin import Throttle

        return Throttle(max_failures=self.sign_in_max_failures, lockout_s=self.sign_in_lockout_s)

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # --- secrets ------------------------------------------------------------------------
    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, or one generated and kept in the data folder.

        A known placeholder or a short key is refused with a message that says how to fix it.
        """
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "SPIN_TRAINER_SECRET_KEY is a placeholder or shorter than "
                    f"{MIN_SECRET_LENGTH} characters; set a random value "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))') or unset it "
                    "to have one generated in the data folder."
                )
            return value
        path = self.data_dir / "secret_key"
        if path.exists():
            stored = path.read_text(encoding="utf-8").strip()
            if len(stored) >= MIN_SECRET_LENGTH:
                return stored
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        return value

    def masked(self) -> dict[str, Any]:
        """The effective settings for `spin-trainer config`, with every secret masked."""

        def mask(secret: SecretStr | None) -> str | None:
            if secret is None:
                return None
            raw = secret.get_secret_value()
            return "****" + raw[-4:] if len(raw) > 12 else "****"

        key_source = "env" if self.secret_key is not None else f"file {self.data_dir / 'secret_key'}"
        return {
            "data_dir": str(self.data_dir),
            "database_url": _mask_url(self.effective_database_url),
            "secret_key": mask(self.secret_key) if self.secret_key else f"(kept in {key_source})",
            "engine": self.engine,
            "effective_engine": self.effective_engine,
            "llm_model": self.llm_model,
            "llm_timeout_s": self.llm_timeout_s,
            "openai_api_key": mask(self.openai_api_key),
            "openai_base_url": self.openai_base_url,
            "content_dir": str(self.content_dir),
            "host": self.host,
            "port": self.port,
            "public_url": self.public_url,
            "secure_cookies": self.secure_cookies,
            "max_turn_chars": self.max_turn_chars,
            "turns_per_minute": self.turns_per_minute,
            "db_concurrency": self.effective_db_concurrency,
            "access_log": self.access_log,
            "encoder_process": self.encoder_process,
            "reply_ahead": self.reply_ahead,
        }


def _mask_url(url: str) -> str:
    """Hide a password in a database URL (postgresql://user:pw@host/db)."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":****"
    return f"{scheme}://{creds}@{host}"


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; explicit overrides (from CLI flags or tests) win."""
    return Settings(**overrides)
