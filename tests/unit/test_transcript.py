"""Reading transcripts to score: the JSON contract, the plain-text format, precise errors, labelling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from trainer.scoring.transcript import (
    Transcript,
    TranscriptError,
    TranscriptTurn,
    label_turns,
    parse_transcript,
    parse_transcript_json,
    parse_transcript_text,
)
from trainer.spin.labels import Label, Lang
from trainer.spin.types import Classification, ContextTurn


def turns(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"role": role, "text": text} for role, text in pairs]


def test_json_transcript_with_every_field() -> None:
    data = {"turns": [{"role": "client", "text": " Hello. ", "at": 0},
                      {"role": "trainee", "text": "Hi, are you in charge of deliveries?", "at": 2.5,
                       "label": "routing"}],
            "persona": "miller-print", "lang": "en", "duration_s": 95}
    t = parse_transcript_json(data)
    assert t == Transcript(turns=(TranscriptTurn("client", "Hello.", 0.0),
                                  TranscriptTurn("trainee", "Hi, are you in charge of deliveries?", 2.5,
                                                 Label.ROUTING)),
                           lang="en", persona="miller-print", duration_s=95.0)
    assert not t.lang_detected


@pytest.mark.parametrize(("text", "lang"), [("Добрый день, вы отвечаете за закупки?", "ru"),
                                            ("Good afternoon, do you handle purchasing?", "en")])
def test_language_is_detected_when_missing(text: str, lang: Lang) -> None:
    t = parse_transcript_json({"turns": turns(("trainee", text))})
    assert t.lang == lang and t.lang_detected


@pytest.mark.parametrize(("data", "message"), [
    ([], 'transcript: must be a JSON object with a "turns" list'),
    ({}, 'turns: required (a list of {"role": "trainee"|"client", "text": ...} objects)'),
    ({"turns": "hello"}, "turns: must be a list"),
    ({"turns": []}, "turns: must hold at least one turn"),
    ({"turns": turns(("client", "Hi")), "speaker": "x"}, "speaker: unknown field; allowed: turns, persona, lang, "
                                                         "duration_s"),
    ({"turns": ["hi"]}, 'turns[0]: must be an object with "role" and "text"'),
    ({"turns": [*turns(("client", "a"), ("trainee", "b"), ("client", "c")), {"role": "seller", "text": "d"}]},
     "turns[3].role: must be 'trainee' or 'client', not 'seller'"),
    ({"turns": [{"text": "hi"}]}, "turns[0].role: required ('trainee' or 'client')"),
    ({"turns": [{"role": "client"}]}, "turns[0].text: required"),
    ({"turns": [{"role": "client", "text": 5}]}, "turns[0].text: must be a string, not int"),
    ({"turns": [{"role": "client", "text": "  "}]}, "turns[0].text: must not be empty"),
    ({"turns": [{"role": "client", "text": "a", "who": "x"}]},
     "turns[0].who: unknown field; allowed: role, text, at, label"),
    ({"turns": [{"role": "client", "text": "a", "at": "10s"}]}, "turns[0].at: must be a number of seconds, not str"),
    ({"turns": [{"role": "client", "text": "a", "at": True}]}, "turns[0].at: must be a number of seconds, not bool"),
    ({"turns": [{"role": "client", "text": "a", "at": -1}]}, "turns[0].at: must not be negative"),
    ({"turns": [{"role": "client", "text": "a", "at": 20}, {"role": "trainee", "text": "b"},
                {"role": "client", "text": "c", "at": 10}]}, "turns[2].at: 10 is earlier than turns[0].at (20)"),
    ({"turns": [{"role": "client", "text": "a", "label": "problem"}]},
     "turns[0].label: only trainee turns carry a label"),
    ({"turns": [{"role": "trainee", "text": "a", "label": "question"}]}, "turns[0].label: must be one of situation, "
     "problem, implication, need_payoff, pitch, greeting, routing, permission, meeting_request, confirmation, "
     "objection_response, closing, other, not 'question'"),
    ({"turns": turns(("client", "a")), "lang": "de"}, "lang: must be 'ru' or 'en', not 'de'"),
    ({"turns": turns(("client", "a")), "persona": ""}, "persona: must be a non-empty string"),
    ({"turns": turns(("client", "a")), "duration_s": 0}, "duration_s: must be above 0"),
    ({"turns": turns(("client", "a")), "duration_s": float("nan")}, "duration_s: must be a finite number"),
])
def test_json_errors_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(TranscriptError) as caught:
        parse_transcript_json(data)
    assert str(caught.value) == message


def test_too_many_turns_and_too_long_text() -> None:
    with pytest.raises(TranscriptError, match=r"^turns: 1001 turns; at most 1000$"):
        parse_transcript_json({"turns": turns(*[("client", "a")] * 1001)})
    with pytest.raises(TranscriptError, match=r"^turns\[0\]\.text: 5001 characters; at most 5000$"):
        parse_transcript_json({"turns": turns(("client", "a" * 5001))})


def test_plain_text_with_english_prefixes_and_continuations() -> None:
    t = parse_transcript_text(
        "Buyer: Miller Print, Anna speaking.\n"
        "Seller: Hi Anna, this is Tom.\n"
        "   Are you the person who arranges deliveries?\n"
        "\n"
        "BUYER:Yes, that's me.\n"
        "trainee: Thank you!\n"
        "Client: Bye.\n")
    assert [(x.role, x.text) for x in t.turns] == [
        ("client", "Miller Print, Anna speaking."),
        ("trainee", "Hi Anna, this is Tom. Are you the person who arranges deliveries?"),
        ("client", "Yes, that's me."),
        ("trainee", "Thank you!"),
        ("client", "Bye."),
    ]
    assert t.lang == "en" and t.lang_detected and t.persona is None and t.duration_s is None


def test_plain_text_with_russian_prefixes_and_time_stamps() -> None:
    t = parse_transcript_text(
        "[00:00] Клиент: АвтоМастер, слушаю.\n"
        "[00:03] Менеджер: Добрый день! Вы отвечаете за закупку запчастей?\n"
        "00:09 Покупатель: Да, я.\n"
        "Продавец: Как вы сейчас заказываете запчасти?\n"
        "(01:02:05) Клиент: По телефону.\n")
    assert [x.role for x in t.turns] == ["client", "trainee", "client", "trainee", "client"]
    assert [x.at for x in t.turns] == [0.0, 3.0, 9.0, None, 3725.0]
    assert t.lang == "ru"


def test_an_unknown_word_with_a_colon_continues_the_turn() -> None:
    t = parse_transcript_text("Seller: Our terms are simple.\nNote: we deliver by noon.\nBuyer: OK.")
    assert [x.text for x in t.turns] == ["Our terms are simple. Note: we deliver by noon.", "OK."]


@pytest.mark.parametrize(("text", "message"), [
    ("", "transcript: no turns (write one per line, e.g. 'Seller: Hello, ...')"),
    ("\n\nHello there\nSeller: Hi", "line 3: expected a speaker prefix such as 'Seller:', 'Buyer:', 'Менеджер:' or "
                                    "'Клиент:', got 'Hello there'"),
    ("Bob: hi\nSeller: Hi", "line 1: expected a speaker prefix such as 'Seller:', 'Buyer:', 'Менеджер:' or "
                            "'Клиент:', got 'Bob: hi'"),
    ("Seller: Hi\nBuyer:\nSeller: Hello?", "line 2: the turn has no text"),
    ("[00:10] Seller: Hi\n[00:05] Buyer: Hello", "line 2: time 00:05 is earlier than the turn before"),
])
def test_plain_text_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TranscriptError) as caught:
        parse_transcript_text(text)
    assert str(caught.value) == message


def test_parse_transcript_picks_json_or_text() -> None:
    assert parse_transcript('\ufeff {"turns": [{"role": "client", "text": "Hi"}]}').turns[0].text == "Hi"
    assert parse_transcript("Seller: Hi").turns[0].role == "trainee"
    with pytest.raises(TranscriptError, match=r"^transcript: not valid JSON at line 1, column 12: "):
        parse_transcript('{"turns": [}')
    with pytest.raises(TranscriptError, match=r"^transcript: the input is empty$"):
        parse_transcript("  \n ")


class FakeClassifier:
    """Records what it was asked; labels questions Problem and anything else Pitch."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[ContextTurn, ...], Lang | None]] = []

    def __call__(self, text: str, context: Sequence[ContextTurn] = (), lang: Lang | None = None) -> Classification:
        self.calls.append((text, tuple(context), lang))
        label = Label.PROBLEM if text.endswith("?") else Label.PITCH
        return Classification(label=label, confidence=0.9, reason="fake", lang=lang or "en")


def test_label_turns_classifies_trainee_turns_with_the_turns_before() -> None:
    t = parse_transcript_json({"lang": "en", "turns": [
        {"role": "client", "text": "Hello.", "at": 0},
        {"role": "trainee", "text": "Are deliveries ever late?", "at": 2},
        {"role": "client", "text": "Sometimes."},
        {"role": "trainee", "text": "We deliver in two hours."},
        {"role": "trainee", "text": "Could we meet on Tuesday at 11?", "label": "meeting_request"},
    ]})
    fake = FakeClassifier()
    scored = label_turns(t, fake)
    assert [(s.index, s.role, s.label, s.at) for s in scored] == [
        (0, "client", None, 0.0), (1, "trainee", Label.PROBLEM, 2.0), (2, "client", None, None),
        (3, "trainee", Label.PITCH, None), (4, "trainee", Label.MEETING_REQUEST, None)]
    assert [(text, len(ctx), lang) for text, ctx, lang in fake.calls] == [
        ("Are deliveries ever late?", 1, "en"), ("We deliver in two hours.", 3, "en")]
    assert fake.calls[1][1][2] == ContextTurn(role="client", text="Sometimes.")


def test_an_upload_over_the_size_limit_is_refused_with_the_limit() -> None:
    from trainer.scoring.transcript import MAX_INPUT_BYTES

    line = "Seller: How do you plan routes today?\nBuyer: In spreadsheets.\n"
    with pytest.raises(TranscriptError, match=r"at most 200,000 bytes"):
        parse_transcript(line * (MAX_INPUT_BYTES // len(line) + 1))
    assert parse_transcript(line * 100).turns  # well under the limit


def test_text_that_starts_with_a_time_stamp_is_not_taken_for_json() -> None:
    t = parse_transcript("[00:02] Seller (Tom): Hi, is that Anna?\n[00:05] Buyer (Anna): Yes, speaking.\n")
    assert [(x.role, x.text, x.at) for x in t.turns] == [("trainee", "Hi, is that Anna?", 2.0),
                                                         ("client", "Yes, speaking.", 5.0)]


def test_more_russian_speaker_prefixes() -> None:
    t = parse_transcript("Менеджер по продажам: Добрый день! Вы отвечаете за закупки?\nАбонент: Да, я.\n")
    assert [x.role for x in t.turns] == ["trainee", "client"] and t.lang == "ru"


def test_names_as_speakers_are_refused_at_their_line() -> None:
    with pytest.raises(TranscriptError) as caught:
        parse_transcript("Seller: Hello!\nTom: Hi there.\nSeller: How are you?\nTom: Fine.")
    assert str(caught.value).startswith("line 2: unknown speaker 'Tom'")
