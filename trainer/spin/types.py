"""Value types passed between the classifier and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainer.spin.labels import Label, Lang, Role


@dataclass(frozen=True, slots=True)
class ContextTurn:
    """A previous turn of the call, as context for labelling the next one."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    label: Label
    confidence: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label.value, "confidence": round(self.confidence, 3),
                "reason": self.reason}


@dataclass(frozen=True, slots=True)
class LabelCheck:
    """An LLM's look at an unsure offline label: kept with the turn so a label can be traced to the model
    call that set it (model, the completion's id, how long it took, or that the answer came from the cache)."""

    model: str
    offline_label: Label
    completion_id: str | None = None
    latency_ms: float | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "offline_label": self.offline_label.value, "completion_id": self.completion_id,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1), "cached": self.cached}


@dataclass(frozen=True, slots=True)
class Classification:
    """The label of one trainee turn: the primary label plus every segment's own."""

    label: Label
    confidence: float
    reason: str
    lang: Lang
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    check: LabelCheck | None = None  # set when an LLM confirmed or overrode the offline label

    @property
    def spin(self) -> Label | None:
        return self.label if self.label.is_spin else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label.value,
            "spin": self.spin.value if self.spin else None,
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "lang": self.lang,
            "segments": [s.to_dict() for s in self.segments],
            **({"check": self.check.to_dict()} if self.check else {}),
        }
