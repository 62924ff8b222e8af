"""Criteria about the call as a cold call: objections, the right person, the next step, length, the close.

Same contract as criteria_spin: facts + thresholds + language in, a Verdict out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainer.personas.timeslot import describe_timeslot, find_timeslot
from trainer.scoring import cues
from trainer.scoring.criteria_spin import ENOUGH_TO_JUDGE, evidence_at, short
from trainer.scoring.facts import CallFacts, ClientAct, is_question
from trainer.scoring.model import Verdict
from trainer.scoring.rubric import CallLengthThresholds, NextStepThresholds, NoThresholds, ObjectionThresholds
from trainer.scoring.tips import decimal, duration_source, tip
from trainer.spin.labels import Label, Lang

_CONTACT = re.compile(r"e-?mail|address|fax|\bпочт|адрес|факс|имейл|мейл")


@dataclass(frozen=True)
class Handling:
    """How one objection or refusal was answered: 0..1 and the tip case that fits it."""

    act: ClientAct
    reply: int
    score: float
    case: str


def handlings(facts: CallFacts, max_refusals: int) -> tuple[Handling, ...]:
    """Judge the trainee's answer to every client objection or refusal the trainee answered."""
    out: list[Handling] = []
    refusals = 0
    for act in facts.client:
        if not (act.refusal or act.objection):
            continue
        refusals += act.objection is None
        reply = act.pos + 1
        if reply >= len(facts.turns) or facts.turns[reply].role != "trainee":
            continue  # the client had the last word
        score, case = _judge(facts, act, reply, refusals, max_refusals)
        out.append(Handling(act, reply, score, case))
    return tuple(out)


def _judge(facts: CallFacts, act: ClientAct, reply: int, refusals: int, max_refusals: int) -> tuple[float, str]:
    turn = facts.turns[reply]
    text = turn.text
    asks = is_question(turn, facts.lang)
    if reply in facts.negative_reaction_pos:
        return 0.0, "negative"
    if reply in facts.competitor_pos:
        return 0.0, "criticism"
    kind = act.objection
    if kind == "no_time":
        if find_timeslot(text, facts.lang):
            return 1.0, kind
        return (0.5 if cues.trainee_has("when_question", text) or cues.mentions_meeting(text) else 0.0), kind
    if kind == "send_info":
        # Clarify needs first; asking only for the address is agreeing to send and be forgotten.
        spin = turn.label is not None and turn.label.is_spin
        return (1.0 if asks and (spin or not _CONTACT.search(text.lower())) else 0.25 if asks else 0.0), kind
    if kind == "have_supplier":
        return (1.0 if cues.trainee_has("satisfaction_question", text) else 0.75 if asks else 0.25), kind
    if kind == "too_expensive":
        return (1.0 if asks else 0.5), kind
    if kind == "not_decider":
        return (1.0 if turn.label == Label.ROUTING or cues.trainee_has("right_person", text) else 0.3), kind
    if kind == "what_about":
        if turn.label == Label.PITCH:
            return 0.3, kind
        return (1.0 if asks or cues.trainee_has("right_person", text) else 0.5), kind
    if kind == "not_in":
        offers_back = cues.mentions_call(text) or cues.mentions_meeting(text)
        return (1.0 if asks or offers_back or find_timeslot(text, facts.lang) else 0.5), kind
    # A plain refusal: persist politely (a question, a concrete step) until the limit, then end politely.
    closes = turn.label == Label.CLOSING or (cues.trainee_has("polite_close", text) and not asks)
    persists = asks or cues.mentions_meeting(text) or find_timeslot(text, facts.lang) is not None
    if act.final:
        # A categorical "no ... goodbye" is a refusal, not an objection: thank them and leave the door open.
        return (1.0 if closes else 0.5 if persists else 0.3), "pushy"
    if refusals < max_refusals:
        return (1.0 if persists else 0.5 if closes else 0.25), "gave_up"
    return (1.0 if closes else 0.3), "pushy"


def objection_handling(facts: CallFacts, th: ObjectionThresholds, lang: Lang) -> Verdict:
    if not facts.has_trainee:
        return Verdict(0.0, (), tip("objection_handling.none", lang))
    handled = handlings(facts, th.max_refusals)
    # No objections is to the trainee's credit only once the call got far enough to provoke one.
    untested = min(1.0, len(facts.spin) / ENOUGH_TO_JUDGE)
    fraction = sum(h.score for h in handled) / len(handled) if handled else untested
    if facts.competitor_pos:
        fraction = min(fraction, 0.5)
    picks = [p for h in handled for p in (h.act.pos, h.reply)] + list(facts.competitor_pos[:1])
    worst = min(handled, key=lambda h: h.score) if handled else None
    if worst is not None and worst.score < 1.0:
        refusals = sum(1 for a in facts.client if a.refusal and a.objection is None and a.pos < worst.reply)
        text = tip(f"objection_handling.{worst.case}", lang, client=short(facts, worst.act.pos),
                   reply=short(facts, worst.reply), refusals=refusals)
    elif facts.competitor_pos:
        text = tip("objection_handling.criticism", lang, reply=short(facts, facts.competitor_pos[0]))
    else:
        case = "good" if handled else "no_objections" if untested >= 1.0 else "untested"
        text = tip(f"objection_handling.{case}", lang, enough=ENOUGH_TO_JUDGE)
    return Verdict(fraction, evidence_at(facts, picks), text)


def right_person(facts: CallFacts, th: NoThresholds, lang: Lang) -> Verdict:
    """Full points for checking before selling starts (a problem question or a pitch), half after."""
    del th
    if not facts.has_trainee:
        return Verdict(0.0, (), tip("right_person.none", lang))
    pos = facts.right_person_pos
    if pos is None:
        return Verdict(0.0, (), tip("right_person.missing", lang))
    selling = [p for p, label in facts.spin if label != Label.SITUATION] + list(facts.pitches)
    first_sell = min(selling) if selling else None
    if first_sell is not None and first_sell < pos:
        return Verdict(0.5, evidence_at(facts, [first_sell, pos]),
                       tip("right_person.late", lang, turn=facts.turns[pos].index))
    return Verdict(1.0, evidence_at(facts, [pos]), tip("right_person.good", lang))


def next_step(facts: CallFacts, th: NextStepThresholds, lang: Lang) -> Verdict:
    if not facts.has_trainee:
        return Verdict(0.0, (), tip("next_step.none", lang))
    step = facts.next_step
    if step is not None:
        share = 1.0 if step.kind == "meeting" else th.call_share
        return Verdict(share, evidence_at(facts, [step.proposal_pos, step.accept_pos]),
                       tip(f"next_step.{step.kind}", lang, slot=describe_timeslot(step.slot, lang)))
    offers = [p for p in facts.trainee if _offers_step(facts, p)]
    concrete = [(p, slot) for p in offers if (slot := find_timeslot(facts.turns[p].text, lang))]
    if concrete:
        pos, slot = concrete[-1]
        return Verdict(th.proposed_share, evidence_at(facts, [pos]),
                       tip("next_step.proposed", lang, slot=describe_timeslot(slot, lang)))
    if offers:
        return Verdict(0.0, evidence_at(facts, offers[-1:]), tip("next_step.vague", lang))
    return Verdict(0.0, (), tip("next_step.missing", lang))


def _offers_step(facts: CallFacts, pos: int) -> bool:
    turn = facts.turns[pos]
    return turn.label == Label.MEETING_REQUEST or cues.mentions_meeting(turn.text) or cues.mentions_call(turn.text)


def call_length(facts: CallFacts, th: CallLengthThresholds, lang: Lang) -> Verdict:
    """Full points within the band; linear loss below it and above it (zero at twice the maximum)."""
    if not facts.has_trainee:
        return Verdict(0.0, (), tip("call_length.none", lang))
    secs = facts.duration_s
    values = {"minutes": decimal(secs / 60, lang), "source": duration_source(facts.duration_source, lang),
              "low": f"{th.min_seconds / 60:g}", "high": f"{th.max_seconds / 60:g}"}
    ends = [0, len(facts.turns) - 1]
    if secs < th.min_seconds:
        if facts.meeting is not None:
            return Verdict(max(0.8, secs / th.min_seconds), evidence_at(facts, ends),
                           tip("call_length.short_booked", lang, **values))
        return Verdict(secs / th.min_seconds, evidence_at(facts, ends), tip("call_length.short", lang, **values))
    if secs > th.max_seconds:
        fraction = max(0.0, 1 - (secs - th.max_seconds) / th.max_seconds)
        return Verdict(fraction, evidence_at(facts, ends), tip("call_length.long", lang, **values))
    return Verdict(1.0, evidence_at(facts, ends), tip("call_length.good", lang, **values))


def polite_close(facts: CallFacts, th: NoThresholds, lang: Lang) -> Verdict:
    del th
    if not facts.has_trainee:
        return Verdict(0.0, (), tip("polite_close.none", lang))
    last = facts.trainee[-1]
    if facts.polite_close_pos is None:
        return Verdict(0.0, evidence_at(facts, [last]), tip("polite_close.missing", lang))
    rude = [a.pos for a in facts.client if a.rude]
    key = "polite_close.good_rude" if rude else "polite_close.good"
    return Verdict(1.0, evidence_at(facts, [*rude[:1], last]), tip(key, lang))
