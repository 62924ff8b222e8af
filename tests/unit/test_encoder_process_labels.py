"""Labels worked out in the encoder's child process: the same as this process's, to the last digit, and a
child that dies, fails on a line or answers garbage never costs a label (it is worked out here instead)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from tests.unit.test_encoder_process import answering_child
from trainer.spin import classifier, embed
from trainer.spin.classifier import APPROACH, classify, classify_with
from trainer.spin.encoder_process import EncoderProcess, serve
from trainer.spin.encoder_wire import read_frame, write_frame
from trainer.spin.labels import Label, Lang
from trainer.spin.types import Classification, ContextTurn

CLIENT_EN = ContextTurn("client", "Honestly, the drivers keep getting lost and deliveries come late.")
CLIENT_RU = ContextTurn("client", "Честно говоря, с подбором у нас сейчас полный беспорядок.")
CASES: list[tuple[str, tuple[ContextTurn, ...], Lang | None]] = [
    ("How many trucks do you run to the regions today?", (), None),
    ("And how does that affect your customers? Wouldn't faster routes help?", (CLIENT_EN,), "en"),
    ("Hi Anna. Our sensors cut waste by 20%. Wouldn't that help?", (), "en"),
    ("Сколько у вас сейчас машин? И как это сказывается на сроках?", (CLIENT_RU,), None),
    ("Понимаю вас. А если бы сборка шла быстрее, что бы это дало?", (CLIENT_RU, ContextTurn("trainee", "Ясно.")),
     "ru"),
    ("   ", (), "en"),
]


@pytest.fixture(scope="module")
def child() -> Iterator[EncoderProcess]:
    proc = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder)
    proc.start()
    yield proc
    proc.close()


def _here(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification:
    return classify_with(text, context, lang, APPROACH)


@pytest.mark.parametrize(("text", "context", "lang"), CASES)
def test_the_child_labels_as_this_process_does(child: EncoderProcess, text: str,
                                               context: tuple[ContextTurn, ...], lang: Lang | None) -> None:
    there = child.classify(text, context, lang)
    assert there is not None
    assert there == _here(text, context, lang)  # every field, confidences unrounded


def test_classify_asks_the_child_while_it_serves_and_this_process_after() -> None:
    asked: list[str] = []
    started = embed.encode_in_child_process()
    try:
        def spy(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
            asked.append(text)
            return started.classify(text, context, lang)

        classifier.label_elsewhere(spy)
        text, context, lang = CASES[1]
        assert classify(text, context, lang) == _here(text, context, lang)
        assert asked == [text]
    finally:
        embed.encode_in_this_process()
        started.close()
    classify(*CASES[0])
    assert asked == [CASES[1][0]]  # no longer asked


def test_a_killed_child_costs_no_label(caplog: pytest.LogCaptureFixture) -> None:
    proc = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder)
    proc.start()
    try:
        first = proc.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        with caplog.at_level(logging.ERROR, logger="trainer"):
            assert proc.classify(*CASES[0]) is None  # the caller labels the line here
        assert "labelled in the server process while a new one starts" in caplog.text
        proc.settle()
        assert proc.pid not in (None, first) and proc.restarts == 1
        assert proc.classify(*CASES[3]) == _here(*CASES[3])  # the new child labels
    finally:
        proc.close()


@pytest.mark.parametrize(("kind", "answer", "dropped", "logged"), [
    (b"E", b"ValueError: no model", False, "the classifier failed (ValueError: no model)"),
    (b"C", b'["situation", 0.5]', True, "an unreadable label (ValueError"),
    (b"C", b'["bogus", 0.5, "", "en", []]', True, "an unreadable label (ValueError: 'bogus'"),
    (b"V", b"abcd", True, "an answer of kind b'V' to a label request"),
])
def test_a_child_failing_a_label_costs_no_label(kind: bytes, answer: bytes, dropped: bool, logged: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    odd = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder,
                         command=[sys.executable, "-c", answering_child(kind, answer)])
    odd.start()
    first = odd.pid
    try:
        with caplog.at_level(logging.ERROR, logger="trainer"):
            assert odd.classify(*CASES[0]) is None
        assert logged in caplog.text
        odd.settle()
        if dropped:  # a broken child is replaced
            assert odd.restarts == 1 and odd.pid not in (None, first)
        else:  # a child that said why it could not label is well: it stays
            assert odd.restarts == 0 and odd.pid == first
    finally:
        odd.close()


def test_the_childs_loop_answers_label_requests() -> None:
    def label(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification:
        if text == "boom":
            raise ValueError("cannot label boom")
        return _here(text, context, lang)

    text, context, lang = CASES[1]
    requests = io.BytesIO()
    request = {"text": text, "context": [[turn.role, turn.text] for turn in context], "lang": lang}
    write_frame(requests, b"L", json.dumps(request).encode())
    write_frame(requests, b"L", json.dumps({"text": "boom", "context": [], "lang": None}).encode())
    write_frame(requests, b"L", b'{"text": "no context"}')
    requests.seek(0)
    answers = io.BytesIO()
    serve(requests, answers, lambda texts: np.zeros((len(texts), 4), dtype=np.float32), label)
    answers.seek(0)
    assert read_frame(answers) == (b"R", b"")
    kind, payload = read_frame(answers)
    assert kind == b"C"
    wire = json.loads(payload)
    expected = _here(text, context, lang)
    assert wire[:4] == [expected.label.value, expected.confidence, expected.reason, expected.lang]
    assert [Label(seg[1]) for seg in wire[4]] == [seg.label for seg in expected.segments]
    assert read_frame(answers) == (b"E", b"ValueError: cannot label boom")
    assert read_frame(answers) == (b"E", b"KeyError: 'context'")


def test_a_loop_without_a_classifier_refuses_label_requests() -> None:
    requests = io.BytesIO()
    write_frame(requests, b"L", b"{}")
    requests.seek(0)
    answers = io.BytesIO()
    serve(requests, answers, lambda texts: np.zeros((len(texts), 4), dtype=np.float32))
    answers.seek(0)
    assert read_frame(answers) == (b"R", b"")
    assert read_frame(answers) == (b"E", b"unknown request kind b'L'")
