"""Criteria about the questions themselves: SPIN order, how many, the Situation/Implication balance, needs.

Each function turns the call's facts and its rubric thresholds into a Verdict: the share of the
criterion's points earned, the turns that earned or cost them, and a tip. The part weights inside
a criterion (e.g. 0.3 for reaching Implication) are fixed here so the same call always gets the
same score; the rubric sets the thresholds and the criterion's total weight.
"""

from __future__ import annotations

from trainer.scoring.facts import CallFacts
from trainer.scoring.model import Evidence, Verdict, quote
from trainer.scoring.rubric import (
    ImplicationShareThresholds,
    NoThresholds,
    QuestionCountThresholds,
    SituationOveruseThresholds,
    SpinSequenceThresholds,
)
from trainer.scoring.tips import decimal, tip
from trainer.spin.labels import SPIN_ORDER, Label, Lang

#: Most evidence items one criterion lists (the first ones in call order).
MAX_EVIDENCE = 5
#: SPIN questions needed before a share (of Situation, of Implication + Need-payoff) earns full points:
#: one Implication question out of one is not yet a balance.
ENOUGH_TO_JUDGE = 3


def evidence_at(facts: CallFacts, positions: list[int] | tuple[int, ...]) -> tuple[Evidence, ...]:
    """Evidence for turns at these positions, in call order, without repeats, at most MAX_EVIDENCE."""
    return tuple(facts.ev(p) for p in sorted(set(positions))[:MAX_EVIDENCE])


def short(facts: CallFacts, pos: int) -> str:
    """A quote short enough to sit inside a tip sentence."""
    return quote(facts.turns[pos].text, limit=70)


def quoted(facts: CallFacts, pos: int, lang: Lang) -> str:
    """`short` in the quotation marks of the language."""
    return ("«{}»" if lang == "ru" else "\u201c{}\u201d").format(short(facts, pos))


def pct(value: float) -> int:
    return int(value * 100 + 0.5)


def first_problem(facts: CallFacts) -> int | None:
    """The first client turn that described a difficulty (an implied need)."""
    return next((a.pos for a in facts.client if a.implied_need), None)


def spin_sequence(facts: CallFacts, th: SpinSequenceThresholds, lang: Lang) -> Verdict:
    if not facts.spin:
        return Verdict(0.0, (), tip("spin_sequence.none", lang))
    stage = {label: n for n, label in enumerate(SPIN_ORDER)}
    firsts: dict[Label, int] = {}
    issues: list[int] = []
    highest = -1
    client_problem = first_problem(facts)
    for pos, label in facts.spin:
        firsts.setdefault(label, pos)
        st = stage[label]
        problem_on_table = Label.PROBLEM in firsts or (client_problem is not None and client_problem < pos)
        if highest - st >= th.regression_drop or (st >= 2 and not problem_on_table):
            issues.append(pos)
        highest = max(highest, st)
    reached = set(firsts)
    deeper = [p for p, label in facts.spin if label in (Label.IMPLICATION, Label.NEED_PAYOFF)]
    if client_problem is not None and (not deeper or client_problem < deeper[0]):
        reached.add(Label.PROBLEM)  # the client put a problem on the table unasked: the P stage is there
    fraction = (0.2 * (Label.PROBLEM in reached) + 0.3 * (Label.IMPLICATION in reached)
                + 0.3 * (Label.NEED_PAYOFF in reached))
    if len(reached) >= 2:
        fraction += 0.2 if not issues else (0.1 if len(issues) <= th.max_regressions else 0.0)
    evidence = evidence_at(facts, [*firsts.values(), *issues[:2]])
    if Label.PROBLEM not in reached and Label.IMPLICATION not in reached:
        text = tip("spin_sequence.no_problem", lang)
    elif Label.IMPLICATION not in reached:
        if client_problem is None:
            text = tip("spin_sequence.no_implication_plain", lang)
        else:
            text = tip("spin_sequence.no_implication", lang, problem=quoted(facts, client_problem, lang))
    elif Label.NEED_PAYOFF not in reached:
        text = tip("spin_sequence.no_need_payoff", lang)
    elif issues:
        turns = ", ".join(str(facts.turns[p].index) for p in issues[:3])
        text = tip("spin_sequence.order", lang, issues=("реплики " if lang == "ru" else "turns ") + turns)
    else:
        text = tip("spin_sequence.good", lang)
    return Verdict(fraction, evidence, text)


def question_count(facts: CallFacts, th: QuestionCountThresholds, lang: Lang) -> Verdict:
    questions = facts.questions
    count = len(questions)
    if count == 0:
        return Verdict(0.0, (), tip("question_count.none", lang, min=th.min_questions))
    minutes = max(facts.duration_s / 60.0, 0.25)
    rate = count / minutes
    early = [p for p in questions if facts.position[p] < 1 / 3]
    front = len(early) / count
    front_loaded = count >= 3 and front > th.front_loaded_share
    count_part = min(1.0, count / th.min_questions)
    rate_part = min(1.0, rate / th.min_per_minute) if th.min_per_minute > 0 else 1.0
    spread_part = 1.0 if not front_loaded else max(0.0, 1 - (front - th.front_loaded_share) / (1 - th.front_loaded_share
                                                                                               + 1e-9))
    fraction = count_part * (0.6 + 0.2 * rate_part + 0.2 * spread_part)
    values = {"count": count, "min": th.min_questions, "rate": decimal(rate, lang), "share": pct(front)}
    if count < th.min_questions:
        key = "question_count.few"
    elif front_loaded:
        key = "question_count.front_loaded"
    elif rate_part < 1.0:
        key = "question_count.slow"
    else:
        key = "question_count.good"
    picks = [questions[0], questions[-1]] + ([early[-1]] if front_loaded else [])
    return Verdict(fraction, evidence_at(facts, picks), tip(key, lang, **values))


def situation_overuse(facts: CallFacts, th: SituationOveruseThresholds, lang: Lang) -> Verdict:
    if not facts.spin:
        return Verdict(0.0, (), tip("situation_overuse.none", lang))
    situation = [p for p, label in facts.spin if label == Label.SITUATION]
    share = len(situation) / len(facts.spin)
    run = longest = 0
    for _, label in facts.spin:
        run = run + 1 if label == Label.SITUATION else 0
        longest = max(longest, run)
    share_part = 1.0 if share <= th.max_share else max(0.0, 1 - (share - th.max_share) / (1 - th.max_share + 1e-9))
    run_part = 1.0 if longest <= th.max_in_a_row else max(0.0, 1 - (longest - th.max_in_a_row) / th.max_in_a_row)
    scale = min(1.0, len(facts.spin) / ENOUGH_TO_JUDGE)
    fraction = (0.7 * share_part + 0.3 * run_part) * scale
    key = ("situation_overuse.good" if fraction >= 1.0 else "situation_overuse.few" if scale < 1.0
           else "situation_overuse.too_many")
    values = {"count": len(situation), "total": len(facts.spin), "share": pct(share), "run": longest,
              "enough": ENOUGH_TO_JUDGE}
    return Verdict(fraction, evidence_at(facts, situation), tip(key, lang, **values))


def implication_share(facts: CallFacts, th: ImplicationShareThresholds, lang: Lang) -> Verdict:
    deep = [p for p, label in facts.spin if label in (Label.IMPLICATION, Label.NEED_PAYOFF)]
    if not deep:
        return Verdict(0.0, (), tip("implication_share.none", lang))
    share = len(deep) / len(facts.spin)
    scale = min(1.0, len(facts.spin) / ENOUGH_TO_JUDGE)
    fraction = min(1.0, share / th.target_share) * scale
    key = ("implication_share.good" if fraction >= 1.0 else "implication_share.low" if share < th.target_share
           else "implication_share.few")
    values = {"count": len(deep), "total": len(facts.spin), "share": pct(share), "target": pct(th.target_share),
              "enough": ENOUGH_TO_JUDGE}
    return Verdict(fraction, evidence_at(facts, deep), tip(key, lang, **values))


def needs(facts: CallFacts, th: NoThresholds, lang: Lang) -> Verdict:
    """Half for an explicit need stated by the client, half for no offer before it (after real questions)."""
    del th
    need = facts.first_explicit_need
    early_pitch = next((p for p in facts.pitches if need is None or p < need), None)
    problem = first_problem(facts)
    fraction = 0.5 * (need is not None) + 0.5 * (early_pitch is None and bool(facts.spin))
    picks = [p for p in (problem, need, early_pitch) if p is not None]
    if early_pitch is not None:
        text = tip("needs.pitch_first", lang, turn=facts.turns[early_pitch].index)
    elif need is not None:
        text = tip("needs.good", lang, need=quoted(facts, need, lang))
    elif problem is not None:
        text = tip("needs.implied_only", lang, problem=quoted(facts, problem, lang))
    else:
        text = tip("needs.none", lang)
    return Verdict(fraction, evidence_at(facts, picks), text)
