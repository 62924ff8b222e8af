"""The offline classifier: conventions of the taxonomy, context, the primary-label rule, robustness."""

from __future__ import annotations

import threading

import pytest

from trainer.spin.classifier import classify, classify_many, classify_with
from trainer.spin.corpus import load_corpus
from trainer.spin.evaluate import GROUPS, group_of, macro_f1
from trainer.spin.labels import Label
from trainer.spin.types import ContextTurn

CONVENTIONS = [
    ("Who signs off a purchase like this?", Label.SITUATION),
    ("How many shipments arrive damaged?", Label.PROBLEM),
    ("Why is it important to fix this before the season?", Label.NEED_PAYOFF),
    ("Would it help if repairs took four hours?", Label.NEED_PAYOFF),
    ("Wouldn't our tool save you time?", Label.PITCH),
    ("Do you have two minutes?", Label.PERMISSION),
    ("Could you put me through to the fleet manager?", Label.ROUTING),
    ("Would Tuesday at 3 pm suit you?", Label.MEETING_REQUEST),
    ("So you have twelve bays, right?", Label.CONFIRMATION),
    ("Кто у вас подписывает такую закупку?", Label.SITUATION),
    ("Сколько отправок приходит с повреждениями?", Label.PROBLEM),
    ("Почему важно решить это до начала сезона?", Label.NEED_PAYOFF),
    ("Разве наш сервис не сэкономит вам время?", Label.PITCH),
    ("У вас есть пара минут?", Label.PERMISSION),
    ("Соедините, пожалуйста, с главным инженером", Label.ROUTING),
    ("Во вторник в 15 вам удобно?", Label.MEETING_REQUEST),
    ("То есть у вас двенадцать ворот, верно?", Label.CONFIRMATION),
]


@pytest.mark.parametrize(("text", "label"), CONVENTIONS)
def test_taxonomy_conventions(text: str, label: Label) -> None:
    result = classify(text)
    assert result.label is label, result.reason
    assert 0.0 < result.confidence <= 1.0
    assert result.spin == (label if label.is_spin else None)


def test_reason_names_the_cue_in_the_turns_language() -> None:
    en = classify("What does an hour of downtime cost you?")
    assert "cost" in en.reason and "consequences" in en.reason
    ru = classify("Во сколько вам обходится час простоя?")
    assert "во сколько" in ru.reason and "последств" in ru.reason


def test_yo_and_questions_without_question_mark() -> None:
    assert classify("Всё ли вас устраивает в нынешнем подрядчике").label is Label.PROBLEM
    assert classify("сколько машин у вас в парке").label is Label.SITUATION
    assert classify("how many people use the system").label is Label.SITUATION


@pytest.mark.parametrize(("text", "problem_turn"), [
    ("What happens when a delivery is late?", "Our carrier is late quite often."),
    ("Что происходит, когда поставка опаздывает?", "Перевозчик часто опаздывает."),
])
def test_context_turns_a_consequence_question_into_implication(text: str, problem_turn: str) -> None:
    alone = classify(text)
    after_problem = classify(text, [ContextTurn("trainee", "Hi."), ContextTurn("client", problem_turn)])
    assert alone.label is Label.PROBLEM
    assert after_problem.label is Label.IMPLICATION
    assert after_problem.reason != alone.reason


def test_explicit_consequence_is_weaker_without_a_problem_on_the_table() -> None:
    text = "How does that affect your delivery dates?"
    alone = classify(text)
    after = classify(text, [ContextTurn("client", "The line breaks down twice a month.")])
    assert alone.label is after.label is Label.IMPLICATION
    assert alone.confidence < after.confidence


def test_problem_earlier_in_the_same_turn_counts() -> None:
    result = classify("Do your trucks break down often? And what happens when they do?")
    assert [s.label for s in result.segments] == [Label.PROBLEM, Label.IMPLICATION]
    assert result.label is Label.IMPLICATION


def test_objection_context() -> None:
    reply = "I understand, and I'm not asking you to change anything today."
    assert classify(reply, [ContextTurn("client", "We already have a supplier.")]).label is Label.OBJECTION_RESPONSE


def test_primary_label_prefers_the_main_question() -> None:
    result = classify("Hello, this is Anna from Terra. We make pallets. How do you ship goods now?")
    assert len(result.segments) == 3
    assert result.label is Label.SITUATION
    assert "3" in result.reason
    assert classify("Good afternoon. Do you have two minutes?").label is Label.PERMISSION
    assert classify("Добрый день! Сколько у вас складов? И часто ли бывают пересорты и ошибки?").label is Label.PROBLEM


def test_pitch_statement_with_leading_question_stays_pitch() -> None:
    result = classify("Our scanners read 300 labels a minute. Would that be useful for you?")
    assert result.segments[1].label is Label.NEED_PAYOFF
    assert result.label is Label.PITCH
    ru = classify("Наши датчики сокращают расход на 20%. Было бы это полезно?")
    assert ru.label is Label.PITCH


@pytest.mark.parametrize("text", ["", "   \n\t", "?!?!", "\x00\x01\x02", "🙂🙂"])
def test_empty_or_letterless_text_is_other_with_zero_confidence(text: str) -> None:
    result = classify(text)
    assert result.label is Label.OTHER and result.confidence == 0.0 and result.segments == ()
    assert result.reason


def test_long_and_garbage_text_does_not_crash() -> None:
    long = classify("How many trucks do you run? " * 2000)
    assert long.label is Label.SITUATION
    junk = classify("".join(chr(c) for c in range(1, 3000)))
    assert isinstance(junk.label, Label)


def test_deterministic_and_classify_many() -> None:
    texts = ["How many trucks do you run?", "Сколько у вас машин?"]
    assert classify_many(texts) == classify_many(texts) == [classify(t) for t in texts]


# Floors: the held-out macro-F1 of the hybrid measured when round 4 closed (en 0.957, ru 0.915 on the
# 376-per-language split) minus a margin. The rules alone score en 0.761, ru 0.713 there.
HELDOUT_FLOOR = {"en": 0.93, "ru": 0.89}


def test_hybrid_beats_the_other_approaches_on_heldout() -> None:
    """The comparison in docs/classifier.md: the kept approach is the best one."""
    items = load_corpus(split="heldout")
    gold = [group_of(item.label) for item in items]
    scores = {}
    for approach in ("rules", "lexical", "embedding", "hybrid"):
        pred = [group_of(classify_with(i.text, i.context, i.lang, approach).label) for i in items]
        scores[approach] = macro_f1(gold, pred, GROUPS)
    assert scores["hybrid"] > max(scores["rules"], scores["lexical"], scores["embedding"])


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_heldout_macro_f1_floor(lang: str) -> None:
    items = [item for item in load_corpus(split="heldout") if item.lang == lang]
    assert len(items) >= 120
    gold = [group_of(item.label) for item in items]
    pred = [group_of(classify(item.text, item.context, item.lang).label) for item in items]
    assert macro_f1(gold, pred, GROUPS) >= HELDOUT_FLOOR[lang]


def test_read_ahead_has_the_client_line_encoded_before_the_answer_is_labelled(monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    from tests.unit.test_embed_prefetch import wait_for_prefetches
    from trainer.spin import embed
    from trainer.spin.classifier import last_client_turn, prefetch_vectors, read_ahead

    monkeypatch.setattr(embed, "HOLD_S", 0.05)
    line = "Honestly, two of our eleven trucks break down every single week, read ahead."
    answer_line = "What does that cost you, read ahead?"
    key = last_client_turn((ContextTurn(role="client", text=line),))
    assert key not in embed._cache
    read_ahead(line)
    assert key not in embed._cache, "held back a moment for other replies to share the encoding"
    for _ in range(3000):
        if key in embed._cache:
            break
        threading.Event().wait(0.01)
    assert key in embed._cache, "the held-back line was never encoded"
    prefetch_vectors(answer_line)
    wait_for_prefetches()
    assert answer_line in embed._cache, "both are there before the label asks"
    answer = classify(answer_line, (ContextTurn(role="client", text=line),), "en")
    assert answer.label is Label.IMPLICATION
