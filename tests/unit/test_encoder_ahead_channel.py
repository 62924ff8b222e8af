"""Labels begun ahead asked of the encoder's child from the event loop (trainer.spin.encoder_ahead): the
label is the child's usual one and is read by the loop, where its callbacks run; several are answered in
order; a child killed meanwhile answers None to what was pending and its replacement serves the channel
again; off a loop, or with a child that does not offer the channel, nothing is asked this way."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from concurrent.futures import Future

from tests.unit.conftest import LoopFactory
from tests.unit.test_encoder_process import GARBAGE
from tests.unit.test_llm_async import in_fresh_thread
from trainer.spin import embed
from trainer.spin.classifier import APPROACH, classify_with
from trainer.spin.encoder_process import EncoderProcess
from trainer.spin.label_ahead import LabelsAhead
from trainer.spin.types import Classification, ContextTurn

# Lines no other test labels (see test_encoder_bulk_channel.py).
LINES = ["How many drivers wait at the gate when the loading slot is missed?",
         "What happens to the Friday deliveries when two trucks wait at the gate?",
         "Сколько водителей ждут у ворот, когда окно погрузки сорвано?"]
CONTEXT = (ContextTurn("client", "The gate queue is the worst part of our week."),)


async def _labels(proc: EncoderProcess, lines: list[str]) -> tuple[list[Classification | None], list[bool]]:
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    asked = [proc.label_soon(line, CONTEXT, None) for line in lines]
    assert all(label is not None for label in asked)
    on_loop: list[bool] = []
    for label in asked:
        assert label is not None
        label.add_done_callback(lambda _: on_loop.append(threading.get_ident() == loop_thread))
    waited = [asyncio.wrap_future(label, loop=loop) for label in asked if label is not None]
    return list(await asyncio.wait_for(asyncio.gather(*waited), 30)), on_loop


def test_labels_asked_from_the_loop_are_the_childs_own_read_on_the_loop(child: EncoderProcess,
                                                                       loop_factory: LoopFactory) -> None:
    assert child.has_ahead_channel

    def in_loop() -> tuple[list[Classification | None], list[bool]]:
        with asyncio.Runner(loop_factory=loop_factory) as runner:  # uvloop too: the server runs on it
            return runner.run(_labels(child, LINES))

    labels, on_loop = in_fresh_thread(in_loop)
    assert labels == [classify_with(line, CONTEXT, None, APPROACH) for line in LINES]  # in order, each its own
    assert on_loop == [True, True, True]  # their callbacks ran on the loop that read them
    assert child.classify(LINES[0], CONTEXT, None) == labels[0]  # the usual channel still answers


def test_off_a_loop_nothing_is_asked_this_way(child: EncoderProcess) -> None:
    # On a thread of its own: the main thread may run the browser tests' loop.
    assert in_fresh_thread(lambda: child.label_soon(LINES[0], CONTEXT, None)) is None


def test_a_child_killed_with_labels_pending_answers_none_and_its_replacement_serves_again(
        child: EncoderProcess) -> None:
    first = child.pid
    assert first is not None

    async def main() -> tuple[list[Classification | None], Classification | None]:
        loop = asyncio.get_running_loop()
        os.kill(first, signal.SIGSTOP)  # it cannot answer before it dies
        pending = [child.label_soon(line, CONTEXT, None) for line in LINES]
        os.kill(first, signal.SIGKILL)
        answered = [await asyncio.wrap_future(label, loop=loop) for label in pending if label is not None]
        assert len(answered) == len(LINES)
        await asyncio.to_thread(child.classify, LINES[0], CONTEXT, None)  # the usual channel notices the death
        await asyncio.to_thread(child.settle)
        again = child.label_soon(LINES[1], CONTEXT, None)
        assert again is not None
        return answered, await asyncio.wait_for(asyncio.wrap_future(again, loop=loop), 30)

    answered, again = in_fresh_thread(lambda: asyncio.run(main()))
    assert answered == [None, None, None]  # the turns label their lines themselves
    assert child.pid not in (None, first) and child.has_ahead_channel
    assert again == classify_with(LINES[1], CONTEXT, None, APPROACH)


def test_labels_ahead_begun_on_the_loop_go_to_the_channel_and_a_turn_takes_them(child: EncoderProcess) -> None:
    ahead = LabelsAhead(child.classify, soon=child.label_soon)

    async def main() -> Classification | None:
        assert ahead.start(LINES[2], CONTEXT, "ru") is not None
        waiting = child._child.ahead.waiting if child._child and child._child.ahead else 0
        assert waiting == 1  # asked on the channel, no thread of LabelsAhead's
        return await asyncio.to_thread(ahead, LINES[2], CONTEXT, "ru")  # the turn, on a worker thread

    try:
        label = in_fresh_thread(lambda: asyncio.run(main()))
    finally:
        ahead.close()
    assert label == classify_with(LINES[2], CONTEXT, "ru", APPROACH)
    assert ahead.hits == 1


def test_a_child_without_the_channel_leaves_labels_to_the_thread() -> None:
    odd = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder, command=[sys.executable, "-c", GARBAGE])
    odd.start()
    try:
        assert not odd.has_ahead_channel

        async def main() -> Future[Classification | None] | None:
            return odd.label_soon(LINES[0], CONTEXT, None)

        assert in_fresh_thread(lambda: asyncio.run(main())) is None
    finally:
        odd.close()


def test_a_label_that_would_not_fit_in_the_pipe_goes_the_usual_way(child: EncoderProcess) -> None:
    long_line = "How many trucks " * 5000  # 80,000 characters: more than a pipe holds

    async def main() -> tuple[bool, Classification | None]:
        refused = child.label_soon(long_line, CONTEXT, None) is None
        after = child.label_soon(LINES[0], CONTEXT, None)  # the channel is still whole
        assert after is not None
        return refused, await asyncio.wait_for(asyncio.wrap_future(after), 30)

    refused, label = in_fresh_thread(lambda: asyncio.run(main()))
    assert refused
    assert label == classify_with(LINES[0], CONTEXT, None, APPROACH)
