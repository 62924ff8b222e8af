"""The hint button: one next question of the right SPIN type, on a topic this client has.

It reads only what the call has already uncovered (the director's state: facts released,
pains admitted and developed, needs stated, ids qualified "persona:id") and the persona on
the line, and follows the SPIN sequence: situation facts first (as many as this client needs
before it admits a problem), then a problem question on a pain not yet admitted, an
implication question on an admitted pain, a need-payoff question on a developed one, and a
meeting with a concrete time once enough needs are stated. The question is built from the
topic's first keyword, which persona files keep a plain noun phrase, so the director will
recognise the topic when the trainee asks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from trainer.personas.director import profile_of
from trainer.personas.model import Persona
from trainer.personas.state import DirectorState, owned_by, qualified
from trainer.spin.labels import Label, Lang

HintKind = Literal["situation", "problem", "implication", "need_payoff", "meeting_request", "routing",
                   "objection_response", "closing"]

_Q: dict[Lang, dict[str, tuple[str, ...]]] = {
    "en": {
        "situation": ("How is {kw} set up at your company at the moment?",
                      "Could you tell me how you handle {kw} today?"),
        "problem": ("Are there any difficulties with {kw}?", "How satisfied are you with {kw} as it is?"),
        "implication": ("What does that lead to? How much does it cost you over a year?",
                        "And how does that affect the rest of the business?"),
        "need_payoff": ("How would it help you if that problem with {kw} were solved?",
                        "Why is it important for you to fix this?"),
        "meeting_request": ("Shall we meet to look at it in detail: would Tuesday at 3 pm suit you?",),
        "routing": ("I'm calling about the {reason}. Could you put me through to the {contact}, please?",),
        "adult": ("Hello! Could I speak to your mum or dad, please?",),
        "closing": ("Thank you, I'll call back another time. Goodbye!",),
        "objection_response": ("I understand. I'm not selling anything right now: may I ask a couple of questions?",),
    },
    "ru": {
        "situation": ("Подскажите, как у вас сейчас устроено: {kw}?",
                      "Расскажите, пожалуйста, как у вас сейчас с этим: {kw}?"),
        "problem": ("{Kw} — с этим бывают сложности?", "Насколько вас сейчас устраивает {kw}?"),
        "implication": ("А к чему это приводит? Во что это обходится за год?",
                        "А как это сказывается на остальной работе?"),
        "need_payoff": ("Если бы эту проблему удалось решить, что бы это вам дало?",
                        "Почему вам важно это решить?"),
        "meeting_request": ("Давайте встретимся и разберём подробно: вам удобно во вторник в 15:00?",),
        "routing": ("Я звоню по вопросу: {reason}. Соедините, пожалуйста, — мне нужен {contact}.",),
        "adult": ("Здравствуй! Можно поговорить с кем-то из взрослых — с мамой или папой?",),
        "closing": ("Спасибо, я перезвоню в другой раз. До свидания!",),
        "objection_response": ("Понимаю. Я ничего сейчас не продаю: можно задать пару вопросов?",),
    },
}

_WHY: dict[Lang, dict[str, str]] = {
    "en": {
        "situation": "A few facts first: this client opens up about problems only after some background.",
        "problem": "You have the background; now look for a difficulty.",
        "implication": "The client admitted a problem; make its cost visible.",
        "need_payoff": "The problem has weight; let the client say what solving it is worth.",
        "meeting_request": "The client stated a need: book the meeting with a day and a time.",
        "routing": "This contact cannot decide: give a reason and name the person you need.",
        "adult": "You are talking to a child: ask for an adult, do not sell.",
        "closing": "Nobody here can take this: end politely and call again later.",
        "objection_response": "Answer the objection calmly; do not argue or pitch.",
    },
    "ru": {
        "situation": "Сначала немного фактов: этот клиент говорит о проблемах только после контекста.",
        "problem": "Контекст есть; теперь ищите трудность.",
        "implication": "Клиент признал проблему; покажите её цену.",
        "need_payoff": "Проблема обрела вес; пусть клиент сам скажет, чего стоит её решение.",
        "meeting_request": "Клиент высказал потребность: договоритесь о встрече в конкретный день и час.",
        "routing": "Этот собеседник не решает: назовите повод и человека, который вам нужен.",
        "adult": "Вы говорите с ребёнком: попросите взрослых, ничего не продавайте.",
        "closing": "Здесь это некому решить: вежливо попрощайтесь и перезвоните позже.",
        "objection_response": "Спокойно ответьте на возражение, не спорьте и не презентуйте.",
    },
}


@dataclass(frozen=True, slots=True)
class Hint:
    kind: HintKind
    text: str
    why: str
    topic: str | None = None

    @property
    def letter(self) -> str:
        return Label(self.kind).letter

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "letter": self.letter, "text": self.text, "why": self.why, "topic": self.topic}


def _make(kind: HintKind, lang: Lang, index: int, topic: str | None = None, **values: str) -> Hint:
    options = _Q[lang][kind]
    kw = topic or ""
    text = options[index % len(options)].format(kw=kw, Kw=kw[:1].upper() + kw[1:], **values)
    return Hint(kind=kind, text=text, why=_WHY[lang][kind], topic=topic)


def hint_for(persona: Persona, state: DirectorState, lang: Lang) -> Hint | None:
    """The next question to try with `persona` (the one on the line now), or None once the call is over."""
    if state.ended or state.stage == "refused":
        return None
    p = persona
    turn = state.turns
    if p.role == "child":
        if state.speaker_turns >= 1:
            return _make("closing", lang, turn)
        return Hint(kind="routing", text=_Q[lang]["adult"][0], why=_WHY[lang]["adult"])
    if p.role == "gatekeeper" and p.gatekeeper is not None:
        return _route(p, lang, turn)
    if state.pending_objection is not None:
        return _make("objection_response", lang, turn)
    facts = owned_by(state.released_facts, p.id)
    admitted = owned_by(state.admitted_pains, p.id)
    developed = owned_by(state.developed_pains, p.id)
    needs = owned_by(state.explicit_needs, p.id)
    if len(needs) >= p.meeting.min_needs:
        if p.meeting.possible:
            return _make("meeting_request", lang, turn)
        if p.gatekeeper is not None:
            return _route(p, lang, turn)
    for pain_id in developed:
        pain = p.pain(pain_id)
        if pain is not None and pain_id not in needs:
            return _make("need_payoff", lang, turn, pain.topics[lang][0])
    for pain_id in admitted:
        pain = p.pain(pain_id)
        if pain is not None and pain_id not in developed:
            return _make("implication", lang, state.implications_heard.get(qualified(p.id, pain_id), 0))
    fresh_facts = [f for f in p.facts if f.id not in facts]
    fresh_pains = [x for x in p.pains if x.id not in admitted]
    if fresh_pains and (len(facts) >= profile_of(p).facts_before_pain or not fresh_facts):
        return _make("problem", lang, turn, fresh_pains[0].topics[lang][0])
    if fresh_facts:
        return _make("situation", lang, turn, fresh_facts[0].topics[lang][0])
    if p.gatekeeper is not None and (needs or not p.gatekeeper.requires_need):
        return _route(p, lang, turn)
    if needs and p.meeting.possible:
        return _make("meeting_request", lang, turn)
    return None


def _route(p: Persona, lang: Lang, turn: int) -> Hint:
    rules = p.gatekeeper
    assert rules is not None
    return _make("routing", lang, turn, reason=rules.reasons[lang][0], contact=rules.contacts[lang][0])
