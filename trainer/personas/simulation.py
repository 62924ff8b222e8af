"""Play a scripted trainee against a persona and judge the outcome by the rules of issue 4.

Pure: the classifier and the engine are passed in, so tests and the CLI share it.
Rules: the SPIN trainee books a meeting, or, with a client who can never agree
(a child, a flat refusal), ends the call politely itself; the pitcher, the
interrogator and the injector never book one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from trainer.engines.base import Engine, VoiceRequest
from trainer.personas import director
from trainer.personas.bots import Trainee
from trainer.personas.model import Persona
from trainer.personas.state import Decision, DirectorState
from trainer.spin.labels import Label, Lang
from trainer.spin.types import Classification, ContextTurn

Classify = Callable[[str, Sequence[ContextTurn], Lang], Classification]
Resolver = Callable[[str], Persona]

MAX_TURNS = 40
WORDS_PER_SECOND = 2.5  # about 150 words a minute on the phone
PAUSE_SECONDS = 1.5  # between lines


@dataclass
class SimTurn:
    role: str
    text: str
    label: str | None = None
    act: str | None = None
    speaker: str | None = None


@dataclass
class SimResult:
    persona: str
    lang: Lang
    bot: str
    outcome: str | None
    turns: list[SimTurn] = field(default_factory=list)
    passed: bool = True
    problem: str = ""

    @property
    def seconds(self) -> float:
        words = sum(len(t.text.split()) for t in self.turns)
        return words / WORDS_PER_SECOND + PAUSE_SECONDS * len(self.turns)


def can_book(root: Persona, resolve: Resolver) -> bool:
    """Whether anyone reachable from this persona (through transfers) may agree to a meeting."""
    seen: set[str] = set()
    current: Persona | None = root
    while current is not None and current.id not in seen:
        if current.meeting.possible:
            return True
        seen.add(current.id)
        nxt = current.gatekeeper.transfer_to if current.gatekeeper else None
        current = resolve(nxt) if nxt else None
    return False


def play(root: Persona, lang: Lang, bot: Trainee, classify: Classify, engine: Engine, resolve: Resolver,
         seed: int = 7) -> SimResult:
    """One whole call: the client picks up, then bot line -> classify -> director -> engine, until it ends."""
    state, decision = director.open_call(root, lang, seed)
    history: list[ContextTurn] = []
    result = SimResult(persona=root.id, lang=lang, bot=bot.name, outcome=None)
    reply = _voice(engine, root, state, decision, history, seed, resolve)
    _client(result, history, reply, decision)
    while not state.ended and len(history) < MAX_TURNS:
        speaker = director.persona_for_state(root, state, resolve)
        line = bot.next_line(speaker, lang, decision, reply)
        if line is None:
            state = director.end_by_trainee(state)
            break
        classification = classify(line, tuple(history[-8:]), lang)
        result.turns.append(SimTurn("trainee", line, label=classification.label.value))
        history.append(ContextTurn("trainee", line))
        state, decision = director.step(root, state, line, classification, resolve)
        reply = _voice(engine, root, state, decision, history, seed, resolve)
        _client(result, history, reply, decision)
    if not state.ended:
        state = director.end_by_trainee(state)
    result.outcome = state.outcome
    judge(result, root, resolve)
    return result


def _voice(engine: Engine, root: Persona, state: DirectorState, decision: Decision, history: list[ContextTurn],
           seed: int, resolve: Resolver) -> str:
    persona = root if decision.speaker == root.id else resolve(decision.speaker)
    request = VoiceRequest(persona=persona, lang=state.lang, decision=decision, state=state,
                           history=tuple(history), seed=seed, turn_index=len(history))
    return engine.voice(request).text


def _client(result: SimResult, history: list[ContextTurn], reply: str, decision: Decision) -> None:
    result.turns.append(SimTurn("client", reply, act=decision.act, speaker=decision.speaker))
    history.append(ContextTurn("client", reply))


def judge(result: SimResult, root: Persona, resolve: Resolver) -> None:
    """Set `passed` and `problem` by the simulate rules."""
    trainee = [t for t in result.turns if t.role == "trainee"]
    if result.bot != "spin":
        if result.outcome == "meeting_booked":
            result.passed, result.problem = False, f"the {result.bot} booked a meeting"
        return
    if result.outcome == "meeting_booked":
        return
    if can_book(root, resolve):
        result.passed, result.problem = False, f"the SPIN trainee did not book a meeting ({result.outcome})"
        return
    polite = bool(trainee) and trainee[-1].label == Label.CLOSING.value
    pitched = any(t.label == Label.PITCH.value for t in trainee)
    if result.outcome not in ("refused", "ended_by_trainee") or not polite or pitched:
        result.passed = False
        result.problem = f"the SPIN trainee should end politely here, got {result.outcome}"
