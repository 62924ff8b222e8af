"""Segmentation of trainee turns in both languages."""

from __future__ import annotations

import pytest

from trainer.spin.lang import detect_lang
from trainer.spin.segment import MAX_TEXT_CHARS, split_segments


def test_splits_sentences_and_questions() -> None:
    text = "Good afternoon. How many trucks do you run? And how often do they break down?"
    assert split_segments(text) == ["Good afternoon.", "How many trucks do you run?",
                                     "And how often do they break down?"]


def test_russian_turn_with_abbreviation_and_initials() -> None:
    text = "Здравствуйте! Меня зовут А. Петров, т.е. я из «Ромашки». Сколько у вас машин"
    assert split_segments(text) == ["Здравствуйте!", "Меня зовут А. Петров, т.е. я из «Ромашки».",
                                    "Сколько у вас машин"]


@pytest.mark.parametrize("text", ["We cut costs by 3.5 percent this year.", "Mr. Smith asked e.g. about it.",
                                  "Звоните на доб. 214 после 15.00", "See example.com for details."])
def test_keeps_numbers_and_abbreviations_inside(text: str) -> None:
    assert split_segments(text) == [text]


def test_semicolons_newlines_and_missing_spaces() -> None:
    assert split_segments("ok?how many\n\nfine; yes") == ["ok?", "how many", "fine;", "yes"]


@pytest.mark.parametrize("text", ["", "   ", "?!...", "\n\n", "— * —"])
def test_drops_empty_bits(text: str) -> None:
    assert split_segments(text) == []


def test_very_long_text_is_capped() -> None:
    segments = split_segments("How many trucks do you run? " * 5000)
    assert sum(len(s) + 1 for s in segments) <= MAX_TEXT_CHARS + 1
    assert segments[0] == "How many trucks do you run?"


def test_detect_lang() -> None:
    assert detect_lang("Сколько у вас машин?") == "ru"
    assert detect_lang("How many trucks?") == "en"
    assert detect_lang("Наш CRM Bitrix24 в облаке") == "ru"
    assert detect_lang("12345 ?!") == "en"
