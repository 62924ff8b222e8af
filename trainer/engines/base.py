"""The one small seam between the call flow and whatever speaks for the client.

The director decides what the client does; an engine only turns that decision
into words. Every engine (scripted, LLM, a test fake) implements `Engine`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from trainer.spin.labels import Lang
from trainer.spin.types import ContextTurn

if TYPE_CHECKING:
    from trainer.personas.director import Decision, DirectorState
    from trainer.personas.model import Persona


@dataclass(frozen=True, slots=True)
class VoiceRequest:
    """Everything an engine may know when it speaks: never more than the director released."""

    persona: Persona
    lang: Lang
    decision: Decision
    state: DirectorState
    history: Sequence[ContextTurn]
    seed: int
    turn_index: int


@dataclass(frozen=True, slots=True)
class VoiceReply:
    text: str
    engine: str
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    notice: str | None = None

    def meta(self) -> dict[str, Any]:
        return {"engine": self.engine, "model": self.model, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out}


class Engine(Protocol):
    """An engine may also set `instant = True` when it speaks in-process without I/O and cannot stall."""

    name: str

    def voice(self, request: VoiceRequest) -> VoiceReply:
        """Say the decision in the persona's words, whole."""
        ...

    def stream(self, request: VoiceRequest) -> Iterator[str]:
        """Say the decision piece by piece; the joined pieces equal `voice(...).text`."""
        ...


def is_instant(engine: Engine) -> bool:
    """Whether `engine` speaks in-process without I/O (`instant = True`): its reply may go in the turn's own
    transaction, since it cannot stall or fail midway."""
    return bool(getattr(engine, "instant", False))
