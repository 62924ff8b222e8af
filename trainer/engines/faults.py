"""What can go wrong between the LLM engine and its server, and what to do about each.

A phone call cannot wait: every failure is sorted into a short list of kinds,
a few of them are worth another try (timeouts, refused connections, 429 and
5xx), the waits between tries are bounded and deterministic (no jitter: the
same failures give the same waits), and each kind has a notice the trainee
sees in the call's language when the scripted line stands in for the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import openai

FailureKind = Literal["timeout", "connection", "rate_limit", "server", "refused", "cut", "malformed", "empty",
                      "deadline", "closed", "error"]
RETRYABLE: frozenset[str] = frozenset({"timeout", "connection", "rate_limit", "server"})


class StreamBroken(Exception):
    """The reply stream ended or broke in a way the openai client itself does not report."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    detail: str
    status: int | None = None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


def classify(exc: BaseException) -> Failure:
    """Sort an exception raised while talking to the server into a `Failure`."""
    detail = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, StreamBroken):
        return Failure(exc.kind, detail)
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError: it is a subclass
        return Failure("timeout", detail)
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", detail)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return Failure("rate_limit", detail, status, retry_after(exc.response.headers))
        if status >= 500:
            return Failure("server", detail, status, retry_after(exc.response.headers))
        return Failure("refused", detail, status)
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError | IndexError | openai.APIError):
        # json.JSONDecodeError is a ValueError: a chunk that is not JSON, or JSON of the wrong shape
        return Failure("malformed", detail)
    if isinstance(exc, OSError):
        return Failure("connection", detail)
    return Failure("error", detail)


def retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait: `retry-after-ms`, `retry-after` in seconds or as an HTTP date."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
            return value if math.isfinite(value) and value >= 0 else None
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when.tzinfo else None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before the scripted line takes over.

    `attempts` counts every try (1 means no retry). The wait before retry n is
    `backoff_s * 2**(n-1)`, at most `max_backoff_s`; a server's Retry-After is
    honoured up to `retry_after_cap_s`. No try starts, and no wait begins, once
    `deadline_s` seconds have passed since the turn began.
    """

    attempts: int = 3
    backoff_s: float = 0.25
    max_backoff_s: float = 2.0
    retry_after_cap_s: float = 3.0
    deadline_s: float = 20.0

    def wait(self, retry: int, failure: Failure) -> float:
        """Seconds to wait before retry number `retry` (1-based) after `failure`."""
        if failure.retry_after_s is not None:
            return min(failure.retry_after_s, self.retry_after_cap_s)
        return min(self.backoff_s * 2.0 ** (retry - 1), self.max_backoff_s)

    def next_wait(self, tries_done: int, failure: Failure, elapsed_s: float) -> float | None:
        """The wait before another try, or None when the engine should give up now."""
        if not failure.retryable or tries_done >= self.attempts:
            return None
        pause = self.wait(tries_done, failure)
        if elapsed_s + pause >= self.deadline_s:
            return None
        return pause

    @classmethod
    def for_timeout(cls, timeout_s: float) -> RetryPolicy:
        """A policy sized to a per-request timeout: three tries, all inside about two timeouts."""
        return cls(deadline_s=max(5.0, 2.0 * timeout_s + 1.0))


_NOTICES: dict[str, dict[str, str]] = {
    "en": {
        "timeout": "The AI client did not answer in time; a scripted reply was used.",
        "connection": "The AI client could not be reached; a scripted reply was used.",
        "rate_limit": "The AI client is busy right now; a scripted reply was used.",
        "server": "The AI client had a server error; a scripted reply was used.",
        "refused": "The AI client refused the request; a scripted reply was used.",
        "cut": "The AI client's reply broke off; a scripted reply was used instead.",
        "malformed": "The AI client sent a garbled reply; a scripted reply was used instead.",
        "empty": "The AI client said nothing; a scripted reply was used.",
        "deadline": "The AI client took too long; a scripted reply was used.",
        "closed": "The AI client's reply was stopped; a scripted reply was kept.",
        "error": "The AI client failed; a scripted reply was used.",
    },
    "ru": {
        "timeout": "ИИ-клиент не ответил вовремя; использован заготовленный ответ.",
        "connection": "Не удалось связаться с ИИ-клиентом; использован заготовленный ответ.",
        "rate_limit": "ИИ-клиент сейчас перегружен; использован заготовленный ответ.",
        "server": "У ИИ-клиента ошибка сервера; использован заготовленный ответ.",
        "refused": "ИИ-клиент отклонил запрос; использован заготовленный ответ.",
        "cut": "Ответ ИИ-клиента оборвался; вместо него использован заготовленный ответ.",
        "malformed": "ИИ-клиент прислал испорченный ответ; вместо него использован заготовленный ответ.",
        "empty": "ИИ-клиент ничего не ответил; использован заготовленный ответ.",
        "deadline": "ИИ-клиент отвечал слишком долго; использован заготовленный ответ.",
        "closed": "Ответ ИИ-клиента был остановлен; сохранён заготовленный ответ.",
        "error": "ИИ-клиент дал сбой; использован заготовленный ответ.",
    },
}


def notice(kind: str, lang: str) -> str:
    """The line shown to the trainee when the scripted reply stood in for the model."""
    bank = _NOTICES.get(lang, _NOTICES["en"])
    return bank.get(kind, bank["error"])
