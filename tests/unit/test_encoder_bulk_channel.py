"""The encoder's child serves encodings on a channel of their own: a label is answered while an encoding
is under way, a child killed in the middle of one costs neither, and a child without the channel (a
stand-in) is asked everything on stdin/stdout."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.unit.test_encoder_process import GARBAGE
from trainer.spin import embed
from trainer.spin.classifier import APPROACH, classify_with
from trainer.spin.encoder_process import EncoderProcess
from trainer.spin.types import ContextTurn

# Texts no other test labels: this process keeps the vectors its own label reads, and a vector differs in
# its last digits with the texts it was encoded beside.
LINE = "So what does a missed slot at the depot cost you each week?"
CONTEXT = (ContextTurn("client", "Our trailers wait at the depot for hours when a slot is missed."),)
# Enough distinct sentences that their encoding takes far longer than one label.
MANY = [f"Reply number {i}: our {i % 7 + 2} warehouses ship about {i * 13} orders a week to the regions."
        for i in range(600)]


def _encode_in_background(proc: EncoderProcess, texts: list[str]
                          ) -> tuple[threading.Thread, list[npt.NDArray[np.float32]], list[float]]:
    out: list[npt.NDArray[np.float32]] = []
    finished: list[float] = []

    def run() -> None:
        out.append(proc.encode(texts))
        finished.append(time.monotonic())

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.05)  # the request is written at once: the child is encoding it now
    return thread, out, finished


def test_a_label_is_answered_while_an_encoding_is_under_way(child: EncoderProcess) -> None:
    assert child.has_bulk_channel
    thread, vectors, finished = _encode_in_background(child, MANY)
    label = child.classify(LINE, CONTEXT, "en")
    labelled = time.monotonic()
    thread.join()
    assert label == classify_with(LINE, CONTEXT, "en", APPROACH)
    assert not finished or labelled < finished[0]  # it did not wait for the encoding to end
    assert np.array_equal(vectors[0], embed.in_process_encoder().encode(MANY))  # the same batch, the same numbers


def test_a_child_killed_during_an_encoding_costs_neither_it_nor_a_label(child: EncoderProcess) -> None:
    first = child.pid
    assert first is not None
    thread, vectors, _ = _encode_in_background(child, MANY[:300])
    os.kill(first, signal.SIGKILL)
    thread.join()
    assert np.array_equal(vectors[0], embed.in_process_encoder().encode(MANY[:300]))  # encoded here instead
    child.settle()
    assert child.pid not in (None, first) and child.restarts == 1
    assert child.has_bulk_channel  # the new child serves the channel too
    assert child.classify(LINE, CONTEXT, "en") == classify_with(LINE, CONTEXT, "en", APPROACH)
    assert np.array_equal(child.encode(MANY[:2]), embed.in_process_encoder().encode(MANY[:2]))


def test_a_child_without_the_channel_is_asked_everything_on_stdin() -> None:
    odd = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder, command=[sys.executable, "-c", GARBAGE])
    odd.start()
    try:
        assert odd.pid is not None and not odd.has_bulk_channel
        assert odd.encode(["short"]).shape == (1, embed.DIM)  # its garbage answer read, and dropped
        assert odd.restarts == 1
    finally:
        odd.close()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads a process's environment in /proc")
def test_the_child_multiplies_on_one_blas_thread(child: EncoderProcess) -> None:
    environ = Path(f"/proc/{child.pid}/environ").read_bytes().split(b"\0")
    expected = os.environ.get("OPENBLAS_NUM_THREADS", "1").encode()
    assert b"OPENBLAS_NUM_THREADS=" + expected in environ
