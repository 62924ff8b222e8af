"""Score a finished call against a rubric: the scorecard JSON, computed in code from labelled turns.

Pure and deterministic: no clock, no randomness, no hash-ordered output, so the same turns and
rubric always give byte-identical JSON. Every criterion lists the turns its points came from and
a tip in the call's language. Bump SCORER_VERSION whenever a change here can move a score, so a
stored scorecard always says which scorer made it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from trainer.scoring import criteria_call, criteria_spin
from trainer.scoring.facts import CallFacts, read_call
from trainer.scoring.model import Evidence, ScoringTurn, Verdict
from trainer.scoring.rubric import CallLengthThresholds, ObjectionThresholds, Rubric
from trainer.scoring.tips import tip
from trainer.spin.labels import Label, Lang

__all__ = ["SCORER_VERSION", "Evidence", "Outcome", "ScoringTurn", "checks_of", "outcome_of", "score_call"]

SCORER_VERSION: int = 2

Outcome = Literal["order", "advance", "continuation", "no_sale"]

_CRITERIA: dict[str, Callable[[CallFacts, Any, Lang], Verdict]] = {
    "spin_sequence": criteria_spin.spin_sequence,
    "question_count": criteria_spin.question_count,
    "situation_overuse": criteria_spin.situation_overuse,
    "implication_share": criteria_spin.implication_share,
    "needs": criteria_spin.needs,
    "objection_handling": criteria_call.objection_handling,
    "right_person": criteria_call.right_person,
    "next_step": criteria_call.next_step,
    "call_length": criteria_call.call_length,
    "polite_close": criteria_call.polite_close,
}

_COUNTED = (Label.SITUATION, Label.PROBLEM, Label.IMPLICATION, Label.NEED_PAYOFF)

#: Criteria a call that the client ended before selling began (facts.early_end) could not show.
#: They are listed with `"applicable": false` and left out of the total, so a trainee who asks a
#: child for a parent and says goodbye is not marked down for asking no implication questions.
_DISCOVERY = frozenset({"spin_sequence", "question_count", "situation_overuse", "implication_share", "needs",
                        "next_step", "call_length"})


def score_call(turns: Sequence[ScoringTurn], rubric: Rubric, lang: Lang,
               duration_s: float | None = None) -> dict[str, Any]:
    """The scorecard of one call (the shape of `spin-trainer score` and `POST /api/calls/{id}/end`)."""
    timing = rubric.thresholds_of("call_length") or CallLengthThresholds()
    facts = read_call(turns, lang, duration_s, timing.words_per_minute, timing.turn_gap_seconds)
    objections = rubric.thresholds_of("objection_handling") or ObjectionThresholds()
    waived = _waived(facts, objections.max_refusals)
    criteria: list[dict[str, Any]] = []
    for criterion in rubric.criteria:
        applicable = criterion.id not in waived
        if applicable:
            verdict = _CRITERIA[criterion.id](facts, criterion.thresholds, lang)
        else:
            assert facts.early_end is not None
            last = facts.client[-1]
            verdict = Verdict(0.0, (facts.ev(last.pos),), tip(f"not_applicable.{facts.early_end}", lang))
        criteria.append({
            "id": criterion.id,
            "title": criterion.title.get(lang),
            "score": _points(verdict.fraction, criterion.weight) if applicable else 0,
            "max": criterion.weight,
            "applicable": applicable,
            "evidence": [e.to_dict() for e in verdict.evidence],
            "tip": verdict.tip,
        })
    total = _total(criteria)
    spin_counts = {label.value: sum(1 for _, lb in facts.spin if lb == label) for label in _COUNTED}
    return {
        "total": total,
        "passed": total >= rubric.pass_mark,
        "level": rubric.level_for(total).id,
        "outcome": outcome_of(facts, objections.max_refusals),
        "counts": {**spin_counts, "questions": len(facts.questions)},
        "criteria": criteria,
        "checks": checks_of(facts),
        "rubric": {"id": rubric.id, "version": rubric.version},
        "scorer_version": SCORER_VERSION,
        "lang": lang,
        "duration_s": facts.duration_s,
    }


def _waived(facts: CallFacts, max_refusals: int) -> frozenset[str]:
    """Criteria left out of this call's total (none unless the client ended the call before selling began)."""
    if facts.early_end is None:
        return frozenset()
    if criteria_call.handlings(facts, max_refusals):
        return _DISCOVERY
    return _DISCOVERY | {"objection_handling"}


def _total(criteria: list[dict[str, Any]]) -> int:
    """The sum of points; rescaled to 0..100 over the applicable criteria when some were waived."""
    earned = sum(c["score"] for c in criteria if c["applicable"])
    possible = sum(c["max"] for c in criteria if c["applicable"])
    full = sum(c["max"] for c in criteria)
    if possible == full or possible == 0:
        return earned if possible else 0
    return int(earned * full / possible + 0.5)


def _points(fraction: float, weight: int) -> int:
    """Whole points, rounded half up (not banker's rounding), within 0..weight."""
    return max(0, min(weight, int(fraction * weight + 0.5 + 1e-9)))


def checks_of(facts: CallFacts) -> dict[str, bool]:
    """The named yes/no checks of issue 5, in a fixed order."""
    return {
        "right_person_checked": facts.right_person_pos is not None,
        "meeting_secured": facts.meeting is not None,
        "next_step_agreed": facts.next_step is not None,
        "competitor_criticised": bool(facts.competitor_pos),
        "pitched_before_needs": facts.pitched_before_needs,
        "negative_reaction_to_refusal": bool(facts.negative_reaction_pos),
        "ended_politely": facts.polite_close_pos is not None,
    }


def outcome_of(facts: CallFacts, max_refusals: int = 3) -> Outcome:
    """Rackham's call outcomes: an order, an advance (a dated next step), continuation, or no sale."""
    if not facts.has_trainee:
        return "no_sale"
    if any(a.order for a in facts.client):
        return "order"
    if facts.next_step is not None:
        return "advance"
    refusals = sum(1 for a in facts.client if a.refusal)
    last = facts.client[-1] if facts.client else None
    if refusals >= max_refusals or (last is not None and (last.refusal or last.rude)):
        return "no_sale"
    return "continuation"
