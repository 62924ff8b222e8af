"""The scorer: scorecard shape, determinism, fairness between a good and a pitchy call, the named checks."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from trainer.scoring.rubric import Rubric, default_rubric_path, load_rubric, parse_rubric
from trainer.scoring.scorer import SCORER_VERSION, ScoringTurn, score_call
from trainer.scoring.tips import tip, tip_keys
from trainer.spin.labels import Label, Lang, Role

SIT, PROB, IMPL, NEED = Label.SITUATION, Label.PROBLEM, Label.IMPLICATION, Label.NEED_PAYOFF
Row = tuple[str, str] | tuple[str, str, Label]


def call(rows: list[Row], at: list[float] | None = None) -> list[ScoringTurn]:
    """Turns from ("c"|"t", text[, label]) rows; trainee turns without a label get OTHER."""
    out = []
    for i, row in enumerate(rows):
        role: Role = "trainee" if row[0] == "t" else "client"
        label = (row[2] if len(row) == 3 else Label.OTHER) if role == "trainee" else None
        out.append(ScoringTurn(index=i, role=role, text=row[1], label=label, at=at[i] if at else None))
    return out


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric(default_rubric_path())


CONTRACT: list[Row] = [
    ("c", "Hello, Miller Print, Anna speaking."),
    ("t", "Hi Anna, this is Tom from Fastline Couriers. Are you the person who arranges deliveries?", Label.ROUTING),
    ("c", "Yes, that's me."),
    ("t", "How do you send proofs to clients today?", SIT),
    ("c", "A courier firm, but they are often late."),
    ("t", "What happens when a proof arrives late?", IMPL),
    ("c", "The client misses the print slot and we lose the job."),
    ("t", "How would it help if proofs always arrived within two hours?", NEED),
    ("c", "We'd keep those jobs."),
    ("t", "Could we meet on Tuesday at 11 to look at your routes?", Label.MEETING_REQUEST),
    ("c", "Tuesday at 11 works."),
    ("t", "Great, see you then. Thank you, Anna, have a good day!", Label.CLOSING),
]

GOOD: dict[Lang, list[Row]] = {
    "en": [
        ("c", "Miller Print, Anna speaking."),
        ("t", "Hi Anna, this is Tom from Fastline Couriers. Are you the person who arranges deliveries?",
         Label.ROUTING),
        ("c", "Yes, that's me."),
        ("t", "How do you send proofs to your clients today?", SIT),
        ("c", "We use a courier firm."),
        ("t", "Are you happy with how quickly the proofs arrive?", PROB),
        ("c", "Not really, they are often late."),
        ("t", "What happens when a proof arrives late?", IMPL),
        ("c", "The client misses the print slot and we lose the job."),
        ("t", "How often does that happen in a month, and what does a lost job cost you?", IMPL),
        ("c", "Two or three times; each one is a few thousand."),
        ("t", "How would it help if proofs always arrived within two hours?", NEED),
        ("c", "We'd keep those jobs, that would be great."),
        ("t", "Could we meet on Tuesday at 11 to look at your routes?", Label.MEETING_REQUEST),
        ("c", "Tuesday at 11 works."),
        ("t", "Great, see you then. Thank you, Anna, have a good day!", Label.CLOSING),
    ],
    "ru": [
        ("c", "АвтоМастер, слушаю."),
        ("t", "Добрый день! Меня зовут Ольга, компания «ТехноСнаб». Подскажите, вы отвечаете за закупку запчастей?",
         Label.ROUTING),
        ("c", "Да, я."),
        ("t", "Как вы сейчас заказываете запчасти?", SIT),
        ("c", "У одного поставщика, по телефону."),
        ("t", "Вас устраивает, как быстро приходят запчасти?", PROB),
        ("c", "Не всегда, бывает, задерживают на неделю."),
        ("t", "А что происходит с ремонтом, когда деталь задерживается?", IMPL),
        ("c", "Машина стоит, клиент злится, иногда уходит к конкурентам."),
        ("t", "Во что вам обходится один такой простой?", IMPL),
        ("c", "Теряем заказ, это тысяч двадцать."),
        ("t", "Насколько важно для вас, чтобы детали приходили на следующий день?", NEED),
        ("c", "Очень важно, это бы помогло удержать клиентов."),
        ("t", "Давайте я подъеду и покажу, как это можно организовать. Вас устроит вторник в 15:00?",
         Label.MEETING_REQUEST),
        ("c", "Да, давайте во вторник в 15:00."),
        ("t", "Отлично, до встречи во вторник. Спасибо, хорошего дня!", Label.CLOSING),
    ],
}

PITCHY: dict[Lang, list[Row]] = {
    "en": [
        ("c", "Miller Print, Anna speaking."),
        ("t", "Hi, this is Tom from Fastline Couriers. We offer the fastest same-day delivery in the city at the "
              "best prices.", Label.PITCH),
        ("c", "We already have a courier firm."),
        ("t", "Your current courier is unreliable, everybody knows that. We are much better.", Label.PITCH),
        ("c", "Not interested, thanks."),
        ("t", "Why not? Don't you care about your clients?", Label.OBJECTION_RESPONSE),
        ("c", "I said no. Goodbye."),
        ("t", "Fine."),
    ],
    "ru": [
        ("c", "АвтоМастер, слушаю."),
        ("t", "Здравствуйте! Компания «ТехноСнаб». Мы предлагаем запчасти с доставкой за один день и лучшие цены "
              "в городе!", Label.PITCH),
        ("c", "У нас уже есть поставщик."),
        ("t", "Ваш поставщик ненадёжный, они всех обманывают. Мы гораздо лучше.", Label.PITCH),
        ("c", "Нам это не интересно."),
        ("t", "Почему нет? Разве вы не хотите сэкономить?", Label.OBJECTION_RESPONSE),
        ("c", "Нет. До свидания."),
        ("t", "Ну ладно."),
    ],
}


def criterion(card: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in card["criteria"] if c["id"] == cid)


def test_contract_sample_checks(rubric: Rubric) -> None:
    card = score_call(call(CONTRACT), rubric, "en")
    checks = card["checks"]
    assert checks["meeting_secured"] and checks["next_step_agreed"]
    assert checks["right_person_checked"] and checks["ended_politely"]
    assert not checks["pitched_before_needs"] and not checks["competitor_criticised"]
    assert not checks["negative_reaction_to_refusal"]
    assert card["outcome"] == "advance"
    assert card["passed"] is True
    assert "Tuesday at 11:00" in criterion(card, "next_step")["tip"]
    assert [e["turn"] for e in criterion(card, "next_step")["evidence"]] == [9, 10]


def test_scorecard_shape_and_keys(rubric: Rubric) -> None:
    turns = call(GOOD["en"])
    card = score_call(turns, rubric, "en")
    assert set(card) == {"total", "passed", "level", "outcome", "counts", "criteria", "checks", "rubric",
                         "scorer_version", "lang", "duration_s"}
    assert isinstance(card["total"], int) and 0 <= card["total"] <= 100
    assert card["total"] == sum(c["score"] for c in card["criteria"])
    assert card["passed"] == (card["total"] >= rubric.pass_mark)
    assert card["level"] == rubric.level_for(card["total"]).id
    assert card["outcome"] in {"order", "advance", "continuation", "no_sale"}
    assert card["counts"] == {"situation": 1, "problem": 1, "implication": 2, "need_payoff": 1, "questions": 7}
    assert list(card["checks"]) == ["right_person_checked", "meeting_secured", "next_step_agreed",
                                    "competitor_criticised", "pitched_before_needs",
                                    "negative_reaction_to_refusal", "ended_politely"]
    assert all(isinstance(v, bool) for v in card["checks"].values())
    assert card["rubric"] == {"id": "spin-cold-call", "version": 1}
    assert card["scorer_version"] == SCORER_VERSION
    assert card["lang"] == "en" and card["duration_s"] > 0
    assert [c["id"] for c in card["criteria"]] == [c.id for c in rubric.criteria]
    texts = {t.index: t.text for t in turns}
    for c in card["criteria"]:
        assert set(c) == {"id", "title", "score", "max", "applicable", "evidence", "tip"}
        assert isinstance(c["score"], int) and 0 <= c["score"] <= c["max"]
        assert c["tip"] and c["title"]
        for ev in c["evidence"]:
            assert set(ev) == {"turn", "quote"}
            assert ev["turn"] in texts
            assert len(ev["quote"]) <= 160
            assert ev["quote"].strip("…") in texts[ev["turn"]]


def test_long_turn_quotes_are_cut_short(rubric: Rubric) -> None:
    long_text = "Could we meet on Tuesday at 11 to look at your routes? " + "We could also go through prices. " * 10
    rows: list[Row] = [*GOOD["en"][:13], ("t", long_text, Label.MEETING_REQUEST), *GOOD["en"][14:]]
    card = score_call(call(rows), rubric, "en")
    quotes = [e["quote"] for c in card["criteria"] for e in c["evidence"] if e["turn"] == 13]
    assert quotes and all(len(q) <= 160 and q.endswith("…") for q in quotes)


def test_same_call_gives_byte_identical_json(rubric: Rubric) -> None:
    first = json.dumps(score_call(call(GOOD["ru"]), rubric, "ru"), ensure_ascii=False)
    again = json.dumps(score_call(call(GOOD["ru"]), load_rubric(default_rubric_path()), "ru"), ensure_ascii=False)
    assert first == again


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_good_spin_call_beats_pitchy_call(rubric: Rubric, lang: Lang) -> None:
    good = score_call(call(GOOD[lang]), rubric, lang)
    pitchy = score_call(call(PITCHY[lang]), rubric, lang)
    assert good["total"] > pitchy["total"] + 40
    assert good["passed"] and not pitchy["passed"]
    assert good["outcome"] == "advance" and pitchy["outcome"] == "no_sale"
    assert good["checks"] == {"right_person_checked": True, "meeting_secured": True, "next_step_agreed": True,
                              "competitor_criticised": False, "pitched_before_needs": False,
                              "negative_reaction_to_refusal": False, "ended_politely": True}
    assert pitchy["checks"] == {"right_person_checked": False, "meeting_secured": False, "next_step_agreed": False,
                                "competitor_criticised": True, "pitched_before_needs": True,
                                "negative_reaction_to_refusal": True, "ended_politely": False}
    for c in good["criteria"]:
        assert c["score"] >= criterion(pitchy, c["id"])["score"], c["id"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_titles_and_tips_follow_the_call_language(rubric: Rubric, lang: Lang) -> None:
    card = score_call(call(PITCHY[lang]), rubric, lang)
    cyrillic = re.compile("[а-яА-Я]")
    for c in card["criteria"]:
        spec = next(x for x in rubric.criteria if x.id == c["id"])
        assert c["title"] == spec.title.get(lang)
        assert bool(cyrillic.search(c["tip"])) == (lang == "ru"), c["tip"]


@pytest.mark.parametrize("rows", [[], [("c", "Hello?"), ("c", "Hello, anyone there?")]])
def test_call_without_trainee_turns_scores_zero(rubric: Rubric, rows: list[Row]) -> None:
    card = score_call(call(rows), rubric, "en")
    assert card["total"] == 0 and not card["passed"] and card["level"] == "beginner"
    assert card["outcome"] == "no_sale"
    assert all(c["score"] == 0 and c["tip"] for c in card["criteria"])
    assert not any(card["checks"].values())
    assert card["counts"]["questions"] == 0


def test_pitchy_tips_quote_the_call_and_offer_a_phrase(rubric: Rubric) -> None:
    card = score_call(call(PITCHY["en"]), rubric, "en")
    needs = criterion(card, "needs")
    assert needs["score"] == 0 and "turn 1" in needs["tip"] and '"' in needs["tip"]
    objections = criterion(card, "objection_handling")
    assert objections["score"] <= 1
    assert "Why not?" in objections["tip"] or "unreliable" in objections["tip"]
    assert {e["turn"] for e in objections["evidence"]} >= {4, 5}


def test_meeting_needs_day_and_time(rubric: Rubric) -> None:
    vague = [*CONTRACT[:9], ("t", "Could we meet next week to look at your routes?", Label.MEETING_REQUEST),
             ("c", "Sure, why not."), CONTRACT[11]]
    card = score_call(call(vague), rubric, "en")
    assert not card["checks"]["meeting_secured"] and not card["checks"]["next_step_agreed"]
    assert card["outcome"] == "continuation"
    assert criterion(card, "next_step")["score"] == 0
    assert "Tuesday at 11" in criterion(card, "next_step")["tip"]


def test_agreed_call_is_a_next_step_but_not_a_meeting(rubric: Rubric) -> None:
    rows = [*CONTRACT[:9], ("t", "May I call you back tomorrow at 10 to go through the details?"),
            ("c", "Okay, tomorrow at 10 is fine."), CONTRACT[11]]
    card = score_call(call(rows), rubric, "en")
    assert card["checks"]["next_step_agreed"] and not card["checks"]["meeting_secured"]
    assert card["outcome"] == "advance"
    assert criterion(card, "next_step")["score"] == 7  # call_share 0.7 of 10


def test_client_counter_proposal_confirmed_by_trainee(rubric: Rubric) -> None:
    rows: list[Row] = [*CONTRACT[:9], ("t", "Could we meet to look at your routes?", Label.MEETING_REQUEST),
                       ("c", "Come by on Thursday at 3 pm."), ("t", "Thursday at 3 pm it is. Thank you, Anna!")]
    card = score_call(call(rows), rubric, "en")
    assert card["checks"]["meeting_secured"]


def test_declined_slot_is_not_a_meeting(rubric: Rubric) -> None:
    rows = [*CONTRACT[:9], CONTRACT[9], ("c", "No, Tuesday doesn't work for me."), ("t", "I understand. Thank you!")]
    card = score_call(call(rows), rubric, "en")
    assert not card["checks"]["meeting_secured"]
    assert criterion(card, "next_step")["score"] == 3  # proposed_share 0.3 of 10


@pytest.mark.parametrize(("text", "expected"), [
    ("Your current courier is unreliable; they lose parcels all the time.", True),
    ("Honestly, they are terrible and overcharge you.", True),
    ("Are they reliable enough for you?", False),
    ("I understand, it is good to have a partner you trust.", False),
    ("Ваш нынешний поставщик ненадёжный, это все знают.", True),
    ("Они вас обманывают.", True),
    ("Вы ими полностью довольны?", False),
])
def test_competitor_criticism(rubric: Rubric, text: str, expected: bool) -> None:
    rows: list[Row] = [("c", "We already work with a courier firm."), ("t", text, Label.OBJECTION_RESPONSE)]
    card = score_call(call(rows), rubric, "en")
    assert card["checks"]["competitor_criticised"] is expected


def test_pitch_after_explicit_need_is_not_flagged(rubric: Rubric) -> None:
    rows = [*CONTRACT[:9], ("t", "We offer two-hour delivery across the city, so that fits exactly.", Label.PITCH),
            *CONTRACT[9:]]
    card = score_call(call(rows), rubric, "en")
    assert not card["checks"]["pitched_before_needs"]
    early = [CONTRACT[0], ("t", "We offer two-hour delivery across the city.", Label.PITCH), *CONTRACT[1:]]
    assert score_call(call(early), rubric, "en")["checks"]["pitched_before_needs"]


@pytest.mark.parametrize(("lang", "refusal", "reply", "negative"), [
    ("en", "Not interested.", "Why not? Don't you care about your costs?", True),
    ("en", "Not interested.", "I understand. May I ask how you handle deliveries today?", False),
    ("ru", "Нас это не интересует.", "Как это не интересует? Вы не понимаете своей выгоды!", True),
    ("ru", "Нас это не интересует.", "Понимаю. Можно узнать, как вы сейчас решаете вопрос доставки?", False),
])
def test_negative_reaction_to_refusal(rubric: Rubric, lang: Lang, refusal: str, reply: str,
                                      negative: bool) -> None:
    rows: list[Row] = [("c", "Hello."), ("t", "Hello, do you have a minute?", Label.PERMISSION), ("c", refusal),
                       ("t", reply, Label.OBJECTION_RESPONSE)]
    card = score_call(call(rows), rubric, lang)
    assert card["checks"]["negative_reaction_to_refusal"] is negative
    assert (criterion(card, "objection_handling")["score"] == 0) is negative


def test_polite_close_even_after_rudeness(rubric: Rubric) -> None:
    rows: list[Row] = [("c", "Алло."), ("t", "Добрый день, вы отвечаете за закупки?", Label.ROUTING),
                       ("c", "Отстаньте, надоели уже со своими звонками!"),
                       ("t", "Понимаю, извините за беспокойство. Спасибо, всего доброго!", Label.CLOSING)]
    card = score_call(call(rows), rubric, "ru")
    assert card["checks"]["ended_politely"]
    close = criterion(card, "polite_close")
    assert close["score"] == close["max"] and "грубил" in close["tip"]
    rude_end = [*rows[:3], ("t", "Ну и ладно, сами пожалеете.", Label.CLOSING)]
    assert not score_call(call(rude_end), rubric, "ru")["checks"]["ended_politely"]


@pytest.mark.parametrize(("reply", "full"), [
    ("I understand. I could come over for fifteen minutes: would Tuesday at 3 pm suit you?", True),
    ("It will only take a minute, I promise.", False),
])
def test_no_time_wants_a_concrete_slot(rubric: Rubric, reply: str, full: bool) -> None:
    rows: list[Row] = [("c", "Hello."), ("t", "Hi, are you in charge of deliveries?", Label.ROUTING),
                       ("c", "Yes, but I have no time right now."), ("t", reply, Label.OBJECTION_RESPONSE)]
    objections = criterion(score_call(call(rows), rubric, "en"), "objection_handling")
    assert (objections["score"] == objections["max"]) is full
    if not full:
        assert "Tuesday at 3 pm" in objections["tip"]


@pytest.mark.parametrize(("reply", "full"), [
    ("Gladly. So that I send exactly what you need, which matters more to you, speed or price?", True),
    ("Sure, I will send it today.", False),
])
def test_send_by_email_wants_needs_clarified_first(rubric: Rubric, reply: str, full: bool) -> None:
    rows: list[Row] = [("c", "Hello."), ("t", "Hi, are you in charge of deliveries?", Label.ROUTING),
                       ("c", "Just send me your offer by email."), ("t", reply, Label.OBJECTION_RESPONSE)]
    objections = criterion(score_call(call(rows), rubric, "en"), "objection_handling")
    assert (objections["score"] == objections["max"]) is full


def test_persistence_then_polite_end_after_three_refusals(rubric: Rubric) -> None:
    persistent: list[Row] = [
        ("c", "Hello."), ("t", "Hi, are you in charge of deliveries?", Label.ROUTING),
        ("c", "Yes. Not interested."), ("t", "I understand. How do you send urgent parcels today?", SIT),
        ("c", "We're fine, thanks."), ("t", "Of course. Is there anything about it you would improve?", PROB),
        ("c", "No thanks, not interested."), ("t", "Thank you for your time, have a good day!", Label.CLOSING),
    ]
    card = score_call(call(persistent), rubric, "en")
    assert criterion(card, "objection_handling")["score"] == 10
    assert card["outcome"] == "no_sale" and card["checks"]["ended_politely"]
    gave_up = [*persistent[:3], ("t", "Okay, thank you, goodbye.", Label.CLOSING)]
    assert criterion(score_call(call(gave_up), rubric, "en"), "objection_handling")["score"] == 5
    pushy = [*persistent[:7], ("t", "But you really should hear our prices, can I tell you?", Label.PITCH)]
    assert criterion(score_call(call(pushy), rubric, "en"), "objection_handling")["score"] < 10


def test_call_length_from_timestamps_and_given_duration(rubric: Rubric) -> None:
    timed = call(GOOD["en"], at=[i * 12.0 for i in range(len(GOOD["en"]))])  # last turn starts at 180 s
    card = score_call(timed, rubric, "en")
    assert 180 < card["duration_s"] < 200
    assert criterion(card, "call_length")["score"] == 5
    assert "from timestamps" in criterion(card, "call_length")["tip"]
    long_call = score_call(call(GOOD["en"]), rubric, "en", duration_s=540)
    assert long_call["duration_s"] == 540
    assert criterion(long_call, "call_length")["score"] == 1  # 4 min over the 5-minute limit
    assert "over 5 min" in criterion(long_call, "call_length")["tip"]
    estimated = score_call(call(GOOD["en"]), rubric, "en")
    assert "estimated from the words" in criterion(estimated, "call_length")["tip"]


def test_situation_overuse_and_implication_share(rubric: Rubric) -> None:
    interrogation: list[Row] = [("c", "Hello.")]
    for q in ("How many staff do you have?", "How many sites?", "Which courier do you use?",
              "How many parcels a week?", "Who signs the contracts?", "What software do you use?"):
        interrogation += [("t", q, SIT), ("c", "Some.")]
    card = score_call(call(interrogation), rubric, "en")
    assert criterion(card, "situation_overuse")["score"] <= 1
    assert criterion(card, "implication_share")["score"] == 0
    assert criterion(card, "question_count")["score"] >= 8
    good = score_call(call(GOOD["en"]), rubric, "en")
    assert criterion(good, "situation_overuse")["score"] == 5
    assert criterion(good, "implication_share")["score"] == 15


def test_spin_sequence_regression_costs_order_points(rubric: Rubric) -> None:
    rows: list[Row] = [("c", "Hello."), ("t", "Which courier do you use?", SIT), ("c", "A local firm."),
                       ("t", "Are you happy with their speed?", PROB), ("c", "They are often late."),
                       ("t", "What does a late proof cost you?", IMPL), ("c", "A lost job."),
                       ("t", "How many people work in your studio?", SIT), ("c", "Twelve."),
                       ("t", "How would it help if proofs came in two hours?", NEED), ("c", "We'd keep the jobs.")]
    card = score_call(call(rows), rubric, "en")
    seq = criterion(card, "spin_sequence")
    assert seq["score"] == 14  # everything reached, one regression tolerated for half the order credit
    assert 7 in [e["turn"] for e in seq["evidence"]]


def test_order_outcome(rubric: Rubric) -> None:
    rows = [*CONTRACT[:9], ("t", "Shall I set up the first pickups for you?", Label.MEETING_REQUEST),
            ("c", "Yes, we'll take it, send the contract."), CONTRACT[11]]
    assert score_call(call(rows), rubric, "en")["outcome"] == "order"


def test_rubric_with_fewer_criteria_scores_only_those() -> None:
    text = """
id: short
version: 3
title: {en: Short, ru: Короткая}
pass_mark: 50
levels: [{id: low, min: 0, title: {en: Low, ru: Низкий}}, {id: high, min: 50, title: {en: High, ru: Высокий}}]
criteria:
  - {id: next_step, weight: 60, title: {en: Next step, ru: Следующий шаг}}
  - {id: polite_close, weight: 40, title: {en: Close, ru: Завершение}}
"""
    card = score_call(call(CONTRACT), parse_rubric(text, "short.yaml"), "en")
    assert [c["id"] for c in card["criteria"]] == ["next_step", "polite_close"]
    assert card["total"] == 100 and card["level"] == "high" and card["rubric"] == {"id": "short", "version": 3}


def test_every_tip_exists_in_both_languages_with_a_phrase_to_say() -> None:
    values = {name: "X" for name in ("problem", "issues", "min", "count", "rate", "share", "total", "run", "target",
                                     "enough", "turn", "need", "client", "reply", "refusals", "slot", "minutes",
                                     "source", "low", "high")}
    cyrillic = re.compile("[а-яА-Я]")
    for key in tip_keys():
        en, ru = tip(key, "en", **values), tip(key, "ru", **values)
        assert not cyrillic.search(en) and cyrillic.search(ru), key
        assert '"' in en and "«" in ru, key  # a question or phrase to say word for word


def test_too_few_spin_questions_do_not_earn_full_balance_points(rubric: Rubric) -> None:
    rows: list[Row] = [("c", "Hello."), ("t", "What does a late delivery cost you?", IMPL), ("c", "A lot.")]
    card = score_call(call(rows), rubric, "en")
    assert criterion(card, "implication_share")["score"] == 5  # one I question of one: a third of the points
    assert criterion(card, "situation_overuse")["score"] == 2
    assert "too few" in criterion(card, "situation_overuse")["tip"]


def test_a_call_the_client_ends_before_selling_is_scored_on_what_it_could_show(rubric: Rubric) -> None:
    rows: list[Row] = [
        ("c", "Hello? Who's this?"),
        ("t", "Hello! This is Max from CityNet. Could I speak to your mum or dad, please?", Label.ROUTING),
        ("c", "Mum's not here, she's at work."),
        ("t", "Thank you! I'll call back in the evening. Goodbye!", Label.CLOSING),
    ]
    card = score_call(call(rows), rubric, "en")
    waived = {c["id"] for c in card["criteria"] if not c["applicable"]}
    assert "implication_share" in waived and "next_step" in waived and "right_person" not in waived
    assert all(c["score"] == 0 and c["tip"].startswith("Not scored") for c in card["criteria"] if not c["applicable"])
    assert card["total"] == 100 and card["outcome"] == "continuation"


def test_selling_before_the_client_ends_the_call_keeps_the_full_rubric(rubric: Rubric) -> None:
    rows: list[Row] = [
        ("c", "Orlov."),
        ("t", "We offer office cleaning at the best prices in the city.", Label.PITCH),
        ("c", "No. We don't need anything, and I won't discuss it. Goodbye."),
        ("t", "Thank you for your time, goodbye!", Label.CLOSING),
    ]
    card = score_call(call(rows), rubric, "en")
    assert all(c["applicable"] for c in card["criteria"])
    assert card["checks"]["pitched_before_needs"] and not card["passed"]


def test_ending_politely_after_a_categorical_no_earns_the_objection_points(rubric: Rubric) -> None:
    rows: list[Row] = [
        ("c", "Orlov."),
        ("t", "Good afternoon! Are you the one who decides on cleaning contracts?", Label.ROUTING),
        ("c", "No. We don't need anything, and I won't discuss it. Goodbye."),
        ("t", "I understand, thank you for being direct. Have a good day!", Label.CLOSING),
    ]
    card = score_call(call(rows), rubric, "en")
    assert criterion(card, "objection_handling")["score"] == 10 and card["outcome"] == "no_sale"


def test_asking_only_for_the_email_address_is_not_clarifying_needs(rubric: Rubric) -> None:
    def objection_points(reply: str, label: Label) -> int:
        rows: list[Row] = [("c", "Please send the information by email."), ("t", reply, label), ("c", "OK.")]
        return int(criterion(score_call(call(rows), rubric, "en"), "objection_handling")["score"])

    address = objection_points("Sure. What is your email address?", Label.OTHER)
    needs = objection_points("Of course. So that I send what fits, how do you train new staff today?", SIT)
    assert address < needs


def test_a_yes_with_no_more_in_it_still_accepts_the_meeting(rubric: Rubric) -> None:
    rows: list[Row] = [
        ("t", "Could I come by on Thursday at 1 pm?", Label.MEETING_REQUEST),
        ("c", "All right, Thursday at 1 pm. Half an hour, no more."),
    ]
    assert score_call(call(rows), rubric, "en")["checks"]["meeting_secured"]
