"""Nudges: short warnings drawn from the rubric's own thresholds while the call is still going.

Each nudge names a habit the scorer will mark down later (an interrogation of situation
questions, a pitch before any stated need, a problem left undeveloped, running over time),
so the trainee can correct course now instead of reading about it on the scorecard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trainer.scoring.rubric import (
    CallLengthThresholds,
    Rubric,
    SituationOveruseThresholds,
    SpinSequenceThresholds,
)
from trainer.spin.labels import SPIN_ORDER, Label, Lang

_TEXT: dict[str, dict[Lang, str]] = {
    "situation_streak": {
        "en": "{n} situation questions and no problem question yet: ask what is difficult or unsatisfying.",
        "ru": "Уже {n} ситуационных вопросов и ни одного проблемного: спросите, что не устраивает или мешает.",
    },
    "situation_share": {
        "en": "Situation questions are {pct}% of your questions (the rubric allows {max}%). "
              "Fewer facts, more about difficulties.",
        "ru": "Ситуационных вопросов уже {pct}% (по критериям — не больше {max}%). "
              "Меньше фактов, больше о трудностях.",
    },
    "regression": {
        "en": "You went back to situation questions after exploring consequences; stay with the problem.",
        "ru": "После вопросов о последствиях вы вернулись к ситуационным; держитесь проблемы.",
    },
    "pitch_before_need": {
        "en": "You presented the offer before the client stated a need; that invites objections. "
              "Ask a need-payoff question first.",
        "ru": "Вы начали предлагать до того, как клиент высказал потребность, — это вызывает возражения. "
              "Сначала задайте направляющий вопрос.",
    },
    "develop_problem": {
        "en": "The client named a problem: ask what it leads to or costs (an implication question).",
        "ru": "Клиент назвал проблему: спросите, к чему она приводит и во что обходится (извлекающий вопрос).",
    },
    "ask_need_payoff": {
        "en": "The problem has weight now: ask what solving it would give them (a need-payoff question).",
        "ru": "Проблема обрела вес: спросите, что даст её решение (направляющий вопрос).",
    },
    "propose_meeting": {
        "en": "The client stated a need: propose a meeting with a concrete day and time.",
        "ru": "Клиент высказал потребность: предложите встречу в конкретный день и час.",
    },
    "over_time": {
        "en": "Over {max} minutes: long calls rarely end in a meeting. Propose a day and time now.",
        "ru": "Больше {max} минут: долгие звонки редко заканчиваются встречей. Предложите день и время сейчас.",
    },
}


@dataclass(frozen=True, slots=True)
class Nudge:
    id: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text}


def _say(key: str, lang: Lang, **values: Any) -> Nudge:
    return Nudge(key, _TEXT[key][lang].format(**values))


def _rank(label: Label) -> int:
    return SPIN_ORDER.index(label) if label in SPIN_ORDER else -1


def nudges(rubric: Rubric, labels: Sequence[Label], lang: Lang, elapsed_s: float | None = None,
           pains_admitted: int = 0, pains_developed: int = 0, needs_stated: int = 0,
           meeting_proposed: bool | None = None) -> list[Nudge]:
    """What to correct now, from the trainee turns' labels so far (in order), most urgent first.

    The counts of pains admitted and developed and of needs stated come from the director's
    state (what the client actually said); `meeting_proposed` defaults to "a meeting request
    is among the labels".
    """
    out: list[Nudge] = []
    spin = [lb for lb in labels if lb.is_spin]
    count = {lb: spin.count(lb) for lb in SPIN_ORDER}
    proposed = Label.MEETING_REQUEST in labels if meeting_proposed is None else meeting_proposed
    timing = rubric.thresholds_of("call_length") or CallLengthThresholds()
    if elapsed_s is not None and elapsed_s > timing.max_seconds and not proposed:
        out.append(_say("over_time", lang, max=f"{timing.max_seconds / 60:g}"))
    if needs_stated and not proposed:
        out.append(_say("propose_meeting", lang))
    pitched = Label.PITCH in labels and not needs_stated
    if pitched:
        out.append(_say("pitch_before_need", lang))
    overuse = rubric.thresholds_of("situation_overuse") or SituationOveruseThresholds()
    if count[Label.SITUATION] > overuse.max_in_a_row and not count[Label.PROBLEM]:
        out.append(_say("situation_streak", lang, n=count[Label.SITUATION]))
    elif len(spin) >= 4 and count[Label.SITUATION] / len(spin) > overuse.max_share:
        out.append(_say("situation_share", lang, pct=round(100 * count[Label.SITUATION] / len(spin)),
                        max=round(100 * overuse.max_share)))
    order = rubric.thresholds_of("spin_sequence") or SpinSequenceThresholds()
    if spin and _went_back(spin, order.regression_drop):
        out.append(_say("regression", lang))
    if not needs_stated and not pitched:
        if pains_admitted and not count[Label.IMPLICATION]:
            out.append(_say("develop_problem", lang))
        elif pains_developed and not count[Label.NEED_PAYOFF]:
            out.append(_say("ask_need_payoff", lang))
    return out


def _went_back(spin: Sequence[Label], drop: int) -> bool:
    """The last question fell `drop` or more stages below the highest reached before it."""
    if len(spin) < 2:
        return False
    peak = max(_rank(lb) for lb in spin[:-1])
    return peak - _rank(spin[-1]) >= drop

