"""Read a labelled call once into the facts every criterion and check is computed from.

Keeping this in one pass means the criteria cannot disagree about what happened (the objection
criterion and the `negative_reaction_to_refusal` check look at the same turns) and scoring a
long call stays cheap. Positions (`pos`) index the call's turn list; evidence uses each turn's own
`index`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from trainer.personas.timeslot import find_timeslot
from trainer.scoring import cues
from trainer.scoring.model import Evidence, ScoringTurn, quote
from trainer.spin import classifier
from trainer.spin.labels import Label, Lang

DurationSource = Literal["given", "timestamps", "words"]
StepKind = Literal["meeting", "call"]
#: Why a call ended before selling could begin, through no fault of the trainee: a categorical
#: refusal, the wanted person is not there (or not the one to talk to), or a transfer to a colleague.
EarlyEnd = Literal["refusal", "absent", "transfer"]

_NEGATIVE_START = re.compile(r"^\W*(no|nope|not really|not much|нет|не особо|не очень|вряд ли)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ClientAct:
    """What one client turn did."""

    pos: int
    objection: str | None  # one of cues.OBJECTION_KINDS
    refusal: bool
    explicit_need: bool
    implied_need: bool
    rude: bool
    order: bool
    final: bool = False  # a refusal said as the last word ("... and I won't discuss it. Goodbye.")
    transfer: bool = False  # "I'm putting you through"


@dataclass(frozen=True)
class NextStep:
    """A meeting or a call with a day and time, proposed by one side and accepted by the other."""

    kind: StepKind
    slot: str  # canonical "<day> HH:MM" (trainer.personas.timeslot)
    proposal_pos: int
    accept_pos: int


@dataclass(frozen=True)
class CallFacts:
    turns: tuple[ScoringTurn, ...]
    lang: Lang
    trainee: tuple[int, ...]
    questions: tuple[int, ...]
    spin: tuple[tuple[int, Label], ...]
    pitches: tuple[int, ...]
    client: tuple[ClientAct, ...]
    first_explicit_need: int | None
    steps: tuple[NextStep, ...]
    right_person_pos: int | None
    competitor_pos: tuple[int, ...]
    negative_reaction_pos: tuple[int, ...]
    polite_close_pos: int | None
    position: tuple[float, ...]  # share of the call elapsed when each turn starts (0..1)
    duration_s: float
    duration_source: DurationSource
    early_end: EarlyEnd | None = None

    @property
    def has_trainee(self) -> bool:
        return bool(self.trainee)

    @property
    def meeting(self) -> NextStep | None:
        return next((s for s in self.steps if s.kind == "meeting"), None)

    @property
    def next_step(self) -> NextStep | None:
        return self.meeting or (self.steps[0] if self.steps else None)

    @property
    def pitched_before_needs(self) -> bool:
        need = self.first_explicit_need
        return any(need is None or p < need for p in self.pitches)

    def ev(self, pos: int) -> Evidence:
        turn = self.turns[pos]
        return Evidence(turn=turn.index, quote=quote(turn.text))


def is_question(turn: ScoringTurn, lang: Lang) -> bool:
    """A SPIN-labelled turn, or one that asks something (also without "?", as speech transcripts come)."""
    if turn.label is not None and turn.label.is_spin:
        return True
    return "?" in turn.text or classifier.is_question(classifier.normalize(turn.text), lang)


def read_call(turns: Sequence[ScoringTurn], lang: Lang, duration_s: float | None = None,
              words_per_minute: float = 150.0, turn_gap_s: float = 1.0) -> CallFacts:
    """All the facts of one call, computed in order from its turns (pure, deterministic)."""
    seq = tuple(turns)
    trainee = tuple(p for p, t in enumerate(seq) if t.role == "trainee")
    client = tuple(_client_act(seq, p) for p, t in enumerate(seq) if t.role == "client")
    pitches = tuple(p for p in trainee if _is_pitch(seq[p]))
    needs = [a.pos for a in client if a.explicit_need]
    after_refusal = _responses_to_pushback(seq, client)
    last_trainee = trainee[-1] if trainee else None
    position, duration, source = _timeline(seq, duration_s, words_per_minute, turn_gap_s)
    return CallFacts(
        turns=seq,
        lang=lang,
        trainee=trainee,
        questions=tuple(p for p in trainee if is_question(seq[p], lang)),
        spin=tuple((p, label) for p in trainee if (label := seq[p].label) is not None and label.is_spin),
        pitches=pitches,
        client=client,
        first_explicit_need=needs[0] if needs else None,
        steps=_next_steps(seq, lang),
        right_person_pos=next((p for p in trainee if _checks_person(seq[p])), None),
        competitor_pos=tuple(p for p in trainee if cues.criticises_competitor(seq[p].text)),
        negative_reaction_pos=tuple(p for p in after_refusal if cues.trainee_has("negative_reaction", seq[p].text)),
        polite_close_pos=last_trainee if last_trainee is not None and _polite(seq[last_trainee]) else None,
        position=position,
        duration_s=duration,
        duration_source=source,
        early_end=_early_end(seq, client, pitches),
    )


def _client_act(seq: tuple[ScoringTurn, ...], pos: int) -> ClientAct:
    text = seq[pos].text
    prev_trainee = next((seq[p] for p in range(pos - 1, -1, -1) if seq[p].role == "trainee"), None)
    refusal = cues.client_has("refusal", text)
    # A buyer who answers a need-payoff question by naming the value states an explicit need.
    answers_payoff = (prev_trainee is not None and prev_trainee.label == Label.NEED_PAYOFF
                      and not refusal and not _NEGATIVE_START.search(text) and len(text.split()) >= 2)
    return ClientAct(
        pos=pos,
        objection=cues.objection_kind(text),
        refusal=refusal,
        explicit_need=not refusal and (answers_payoff or cues.client_has("explicit_need", text)),
        implied_need=cues.client_has("implied_need", text),
        rude=cues.client_has("rude", text),
        order=cues.client_has("order", text) and not refusal,
        final=refusal and cues.client_has("final", text),
        transfer=not refusal and cues.client_has("transfer", text),
    )


def _early_end(seq: tuple[ScoringTurn, ...], client: tuple[ClientAct, ...],
               pitches: tuple[int, ...]) -> EarlyEnd | None:
    """Why the call stopped before discovery, when the client stopped it and the trainee had not started selling.

    Only the client's last turn counts, and at most one trainee turn (a goodbye) may follow it. A
    trainee who pitched or asked about problems had started selling, so the full rubric applies.
    """
    if not client or pitches:
        return None
    if any(t.role == "trainee" and t.label is not None and t.label.is_spin and t.label != Label.SITUATION
           for t in seq):
        return None
    last = client[-1]
    if sum(1 for t in seq[last.pos + 1:] if t.role == "trainee") > 1:
        return None
    if last.refusal and last.final:
        return "refusal"
    if last.transfer:
        return "transfer"
    if last.objection in ("not_in", "not_decider"):
        return "absent"
    return None


def _is_pitch(turn: ScoringTurn) -> bool:
    if turn.label == Label.PITCH:
        return True
    return not (turn.label is not None and turn.label.is_spin) and cues.trainee_has("pitch", turn.text)


def _checks_person(turn: ScoringTurn) -> bool:
    return turn.label == Label.ROUTING or cues.trainee_has("right_person", turn.text)


def _polite(turn: ScoringTurn) -> bool:
    return cues.trainee_has("polite_close", turn.text) and not cues.trainee_has("negative_reaction", turn.text)


def _responses_to_pushback(seq: tuple[ScoringTurn, ...], client: tuple[ClientAct, ...]) -> tuple[int, ...]:
    """Trainee turns that answer a refusal or an objection (the first trainee turn after it)."""
    out: list[int] = []
    for act in client:
        if not (act.refusal or act.objection):
            continue
        nxt = act.pos + 1
        if nxt < len(seq) and seq[nxt].role == "trainee" and nxt not in out:
            out.append(nxt)
    return tuple(out)


def _step_kind(texts: Sequence[str]) -> StepKind:
    meeting = any(cues.mentions_meeting(t) for t in texts)
    call = any(cues.mentions_call(t) for t in texts)
    if call and not meeting:
        return "call"
    return "meeting"


def _next_steps(seq: tuple[ScoringTurn, ...], lang: Lang) -> tuple[NextStep, ...]:
    """Meetings or calls with a day and time that one side proposed and the other accepted."""
    slots = [find_timeslot(t.text, lang) for t in seq]
    steps: list[NextStep] = []
    for pos, turn in enumerate(seq[:-1]):
        nxt, reply = pos + 1, seq[pos + 1]
        if reply.role == turn.role or (slots[pos] or slots[nxt]) is None:
            continue
        if turn.role == "trainee":
            proposes = (turn.label == Label.MEETING_REQUEST or slots[pos] is not None
                        or cues.mentions_meeting(turn.text) or cues.mentions_call(turn.text))
            countered = None not in (slots[pos], slots[nxt]) and slots[pos] != slots[nxt]  # judged at the reply
            accepted = proposes and not countered and cues.is_acceptance(reply.text)
        else:
            # The client names a time of their own (or counters ours); the trainee confirms it, by a yes or by
            # saying the time back; the client does not back out.
            before = next((p for p in range(pos - 1, -1, -1) if seq[p].role == "trainee"), None)
            proposes = (slots[pos] is not None and not cues.client_has("refusal", turn.text)
                        and (before is None or slots[before] != slots[pos]))
            confirms = ((cues.is_acceptance(reply.text) or slots[nxt] == slots[pos])
                        and not cues.client_has("decline", reply.text))
            after = seq[nxt + 1].text if nxt + 1 < len(seq) else ""
            backs_out = cues.client_has("decline", after) or cues.client_has("refusal", after)
            accepted = proposes and confirms and not backs_out
        if accepted:
            slot = slots[pos] or slots[nxt]
            assert slot is not None
            kind = _step_kind([turn.text, reply.text, *(t.text for t in seq[max(0, pos - 3):pos])])
            steps.append(NextStep(kind=kind, slot=slot, proposal_pos=pos, accept_pos=nxt))
    return tuple(steps)


def _timeline(seq: tuple[ScoringTurn, ...], duration_s: float | None, words_per_minute: float,
              turn_gap_s: float) -> tuple[tuple[float, ...], float, DurationSource]:
    """Each turn's start as a share of the call, and the call's length with where it came from.

    Timestamps win for positions; a given duration wins for the length; otherwise speech time is
    estimated from the words (about `words_per_minute`) plus a short gap per turn.
    """
    if not seq:
        return (), float(duration_s or 0.0), "given" if duration_s else "words"
    spoken = [len(t.text.split()) * 60.0 / words_per_minute + turn_gap_s for t in seq]
    starts: list[float] = []
    clock = 0.0
    for turn, secs in zip(seq, spoken, strict=True):
        if turn.at is not None and turn.at >= clock:
            clock = turn.at
        starts.append(clock)
        clock += secs
    timed = any(t.at is not None for t in seq)
    end = clock
    source: DurationSource = "timestamps" if timed else "words"
    duration = end
    if duration_s is not None and duration_s > 0:
        duration, source = float(duration_s), "given"
        end = max(end, duration) if timed else end
    position = tuple(min(1.0, s / end) if end > 0 else 0.0 for s in starts)
    return position, round(duration, 1), source
