"""The director's per-call state and its decisions: plain data, stored with the call as JSON.

Ids of facts, pains and objections are kept qualified by the persona that
owns them ("logistics-director:fleet"), because one call may pass through
several personas (a gatekeeper, then the decision-maker).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from trainer.spin.labels import Lang

Outcome = Literal["meeting_booked", "transferred", "hung_up", "refused", "ended_by_trainee"]
Act = Literal[
    "pick_up", "release_fact", "deflect", "admit_pain", "develop_pain", "state_need", "raise_objection",
    "ask_purpose", "offer_email", "transfer", "accept_meeting", "ask_time", "refuse", "hang_up",
    "acknowledge", "goodbye",
]
ACTS: tuple[str, ...] = Act.__args__  # type: ignore[attr-defined]
OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Profile:
    """What difficulty changes: patience, how much it takes to open up, how fast it says no."""

    patience: int
    facts_before_pain: int  # situation facts released before a pain may be admitted
    implications_needed: int  # implication questions before a pain counts as developed
    interrogation_after: int  # situation questions before they start to annoy
    pitch_cost: int  # patience lost to a pitch before any explicit need
    forgive_first_pitch: bool  # the first early pitch gets a "why would we need that?", not an objection
    refusal_shift: int  # added to the persona's categorical_after


PROFILES: dict[str, Profile] = {
    "easy": Profile(10, 0, 1, 6, 1, True, 1),
    "normal": Profile(8, 1, 1, 4, 2, False, 0),
    "hard": Profile(6, 2, 2, 3, 3, False, -1),
}


def qualified(persona_id: str, item_id: str) -> str:
    return f"{persona_id}:{item_id}"


def owned_by(keys: list[str], persona_id: str) -> list[str]:
    """The unqualified ids in `keys` that belong to `persona_id`."""
    prefix = f"{persona_id}:"
    return [k[len(prefix):] for k in keys if k.startswith(prefix)]


@dataclass
class DirectorState:
    """Everything the director remembers between turns; `to_dict` is what the call stores."""

    stage: str = "opening"  # opening, discovery, needs, closing, refused, ended
    lang: Lang = "en"
    seed: int = 0
    speaker: str = ""  # persona id on the line now
    patience: int = 8
    turns: int = 0  # trainee turns in the whole call
    speaker_turns: int = 0  # trainee turns since the current speaker picked up
    released_facts: list[str] = field(default_factory=list)
    admitted_pains: list[str] = field(default_factory=list)
    developed_pains: list[str] = field(default_factory=list)
    implications_heard: dict[str, int] = field(default_factory=dict)
    explicit_needs: list[str] = field(default_factory=list)
    objections_raised: list[str] = field(default_factory=list)
    pending_objection: str | None = None
    situation_questions: int = 0
    pitches: int = 0
    pushes: int = 0  # pitches or meeting requests pressed after the client pushed back
    pressure: int = 0  # pressing on after a categorical no, or rudeness
    purpose_given: bool = False  # a gatekeeper heard a legitimate reason
    purpose_asked: int = 0
    transfers: list[str] = field(default_factory=list)  # persona ids the call was put through to
    meeting_time: str | None = None  # canonical timeslot, see trainer.personas.timeslot
    outcome: Outcome | None = None
    ended: bool = False
    last_act: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, the lists and the dict copied (what `dataclasses.asdict` gives for these field types,
        without its recursive walk: a turn converts the state three times)."""
        out = {name: getattr(self, name) for name in _FIELD_NAMES}
        for name, copy in _CONTAINERS:
            out[name] = copy(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DirectorState:
        """Read a stored state; unknown keys (from a newer version) are ignored, missing ones default."""
        data = data or {}
        kwargs = {k: v for k, v in data.items() if k in _FIELD_SET}
        for key, copy in _CONTAINERS:
            if key in kwargs:
                kwargs[key] = copy(kwargs[key] or ())
        return cls(**kwargs)

    def copy(self) -> DirectorState:
        return DirectorState.from_dict(self.to_dict())


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(DirectorState))
_FIELD_SET = frozenset(_FIELD_NAMES)
# The list and dict fields (those made by a default factory), each with the factory that copies one.
_CONTAINERS: tuple[tuple[str, Any], ...] = tuple((f.name, f.default_factory) for f in fields(DirectorState)
                                                 if f.default_factory in (list, dict))


@dataclass(frozen=True, slots=True)
class Decision:
    """What the client does this turn; an engine only puts it into words.

    `ref` names the fact, pain or objection voiced (unqualified, of `speaker`), the
    target persona of a transfer, the canonical time of an accepted meeting, or the
    kind of a deflection or acknowledgement ("off_topic", "repeat", ...).
    """

    act: Act
    ref: str | None
    speaker: str
    ends_call: bool = False
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"act": self.act, "ref": self.ref, "speaker": self.speaker, "ends_call": self.ends_call,
                "why": self.why}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """Read a stored decision (to voice it later, e.g. after an interrupted reply)."""
        act = data.get("act")
        if act not in ACTS:
            raise ValueError(f"unknown act {act!r}")
        return cls(act=act, ref=data.get("ref"), speaker=str(data.get("speaker", "")),
                   ends_call=bool(data.get("ends_call", False)), why=str(data.get("why", "")))
