"""Labels begun ahead: used only for exactly the line, context and language asked, bounded, closed cleanly."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from trainer.spin import classifier
from trainer.spin.classifier import classify_with
from trainer.spin.label_ahead import LabelsAhead
from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn

BEFORE = (ContextTurn("client", "We ship about forty loads a day."),)
OTHER = (ContextTurn("client", "Our trucks are always late in winter."),)


class Recorded:
    """The rules' label, recording each request; `hold` keeps a request waiting until it is set."""

    def __init__(self, answer: bool = True) -> None:
        self.asked: list[tuple[str, tuple[ContextTurn, ...], Lang | None]] = []
        self.answer = answer
        self.hold = threading.Event()
        self.hold.set()
        self.running = threading.Event()

    def __call__(self, text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
        self.asked.append((text, tuple(context), lang))
        self.running.set()
        self.hold.wait(10)
        return classify_with(text, context, lang, "rules") if self.answer else None


def _begun_and_run(ahead: LabelsAhead, labeller: Recorded, text: str, context: Sequence[ContextTurn]) -> None:
    """Begin a label ahead and wait until its thread has asked the labeller."""
    labeller.running.clear()
    ahead.start(text, context, "en")
    assert labeller.running.wait(10)


def test_a_label_begun_ahead_is_the_one_the_turn_gets() -> None:
    labeller = Recorded()
    ahead = LabelsAhead(labeller)
    line = "How often is a load late?"
    _begun_and_run(ahead, labeller, line, BEFORE)
    got = ahead(line, BEFORE, "en")
    assert got == classify_with(line, BEFORE, "en", "rules")
    assert labeller.asked == [(line, BEFORE, "en")]  # worked out once, ahead
    assert (ahead.begun, ahead.hits, ahead.waiting) == (1, 1, 0)
    ahead.close()


@pytest.mark.parametrize(("text", "context", "lang"), [
    ("How often is a load late?", OTHER, "en"),  # the call went on elsewhere: other turns
    ("How often is a load late?", (), "en"),
    ("How often is a load late?", BEFORE, "ru"),
    ("How often are loads late?", BEFORE, "en"),  # another line (the turn cleaned it differently)
])
def test_a_label_begun_for_anything_else_is_not_used(text: str, context: tuple[ContextTurn, ...],
                                                     lang: Lang) -> None:
    labeller = Recorded()
    ahead = LabelsAhead(labeller)
    _begun_and_run(ahead, labeller, "How often is a load late?", BEFORE)
    got = ahead(text, context, lang)
    assert got == classify_with(text, context, lang, "rules")
    assert labeller.asked[-1] == (text, context, lang) and len(labeller.asked) == 2
    assert (ahead.hits, ahead.waiting) == (0, 1)  # the guess waits, unused, until it is pushed out
    ahead.close()


def test_a_turn_waits_for_the_label_being_worked_out_and_does_not_ask_twice() -> None:
    labeller = Recorded()
    labeller.hold.clear()
    ahead = LabelsAhead(labeller)
    line = "What does a late load cost you?"
    _begun_and_run(ahead, labeller, line, BEFORE)
    got: list[Classification | None] = []
    turn = threading.Thread(target=lambda: got.append(ahead(line, BEFORE, "en")))
    turn.start()
    turn.join(0.2)
    assert turn.is_alive() and not got  # waiting for the child's answer, not asking again
    labeller.hold.set()
    turn.join(10)
    assert got == [classify_with(line, BEFORE, "en", "rules")] and len(labeller.asked) == 1
    assert ahead.hits == 1
    ahead.close()


def test_a_label_not_begun_yet_is_taken_back_and_worked_out_by_the_turn() -> None:
    labeller = Recorded()
    labeller.hold.clear()
    ahead = LabelsAhead(labeller)
    _begun_and_run(ahead, labeller, "How many trucks do you run?", BEFORE)  # the thread is busy with it
    line = "What does a late load cost you?"
    ahead.start(line, BEFORE, "en")  # queued behind it
    labeller.hold.set()  # the turn is on another thread: it need not wait for the queue
    got = ahead(line, BEFORE, "en")
    assert got == classify_with(line, BEFORE, "en", "rules")
    assert [asked[0] for asked in labeller.asked].count(line) == 1
    ahead.close()


def test_a_labeller_that_cannot_answer_ahead_is_asked_again_by_the_turn() -> None:
    labeller = Recorded(answer=False)
    ahead = LabelsAhead(labeller)
    line = "How often is a load late?"
    _begun_and_run(ahead, labeller, line, BEFORE)
    assert ahead(line, BEFORE, "en") is None  # the caller (`classify`) then labels it in this process
    assert len(labeller.asked) == 2 and ahead.hits == 0
    ahead.close()


def test_a_labeller_that_raised_ahead_is_asked_again_by_the_turn() -> None:
    calls: list[str] = []
    running = threading.Event()

    def flaky(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
        calls.append(text)
        if len(calls) == 1:
            running.set()
            raise RuntimeError("the child's pipe broke")
        return classify_with(text, context, lang, "rules")

    ahead = LabelsAhead(flaky)
    line = "How often is a load late?"
    ahead.start(line, BEFORE, "en")
    assert running.wait(10)
    assert ahead(line, BEFORE, "en") == classify_with(line, BEFORE, "en", "rules")
    assert calls == [line, line] and ahead.hits == 0
    ahead.close()


def test_labels_nobody_asks_for_are_bounded() -> None:
    labeller = Recorded()
    ahead = LabelsAhead(labeller, kept=3)
    for n in range(10):
        ahead.start(f"Line {n}?", BEFORE, "en")
        ahead.start(f"Line {n}?", BEFORE, "en")  # the same again: begun once
    assert ahead.begun == 10 and ahead.waiting == 3
    assert ahead("Line 9?", BEFORE, "en") == classify_with("Line 9?", BEFORE, "en", "rules")
    ahead.close()
    with pytest.raises(ValueError, match="at least one"):
        LabelsAhead(labeller, kept=0)


def test_closed_it_labels_only_when_asked() -> None:
    labeller = Recorded()
    ahead = LabelsAhead(labeller)
    ahead.close()
    ahead.start("How often is a load late?", BEFORE, "en")
    assert ahead.waiting == 0 and labeller.asked == []
    assert ahead("How often is a load late?", BEFORE, "en") is not None and len(labeller.asked) == 1


def test_classify_begins_labels_ahead_only_with_a_labeller_that_can() -> None:
    labeller = Recorded()
    ahead = LabelsAhead(labeller)
    classifier.label_elsewhere(ahead)
    try:
        line = "How often is a load late?"
        labeller.running.clear()
        classifier.label_ahead(line, BEFORE, "en")
        assert labeller.running.wait(10)
        assert classifier.classify(line, BEFORE, "en") == classify_with(line, BEFORE, "en", "rules")
        assert len(labeller.asked) == 1
    finally:
        classifier.label_elsewhere(None)
    assert ahead.waiting == 0
    ahead.start("Closed with it?", BEFORE, "en")  # label_elsewhere closed the labeller it replaced
    assert ahead.waiting == 0
