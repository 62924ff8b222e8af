"""The sentence encoder in a child process: same vectors, and a child that dies or misbehaves never costs
a label (the server process encodes instead, and a new child takes over at the next one)."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

import numpy as np
import pytest

from trainer.spin import embed
from trainer.spin.encoder_process import MAX_RESTARTS, EncoderProcess, serve
from trainer.spin.encoder_wire import EncoderProcessError, read_frame, write_frame

TEXTS = ["How many trucks do you run to the regions today?", "Сколько у вас сейчас машин?", ""]


def test_the_child_gives_the_vectors_of_this_process(child: EncoderProcess) -> None:
    here = embed.in_process_encoder().encode(TEXTS)
    there = child.encode(TEXTS)
    assert there.shape == (3, embed.DIM) and there.dtype == np.float32
    assert np.array_equal(there, here)


def test_embed_switches_to_the_child_and_back(child: EncoderProcess) -> None:
    started = embed.encode_in_child_process()
    try:
        assert embed._encoder() is started and started.pid is not None
        vectors = embed.embed_many(TEXTS[:2], cache=False)
        assert np.array_equal(vectors, child.encode(TEXTS[:2]))
    finally:
        embed.encode_in_this_process()
        started.close()
    assert embed._encoder() is embed.in_process_encoder()
    assert started.pid is None


def test_a_killed_child_costs_no_label_and_is_replaced(child: EncoderProcess,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    first = child.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with caplog.at_level(logging.ERROR, logger="trainer"):
        vectors = child.encode(TEXTS[:1])  # encoded here, in this process, while a new child starts
    assert np.array_equal(vectors, embed.in_process_encoder().encode(TEXTS[:1]))
    assert "encoded in the server process while a new one starts" in caplog.text
    child.settle()
    assert child.pid not in (None, first) and child.restarts == 1
    again = child.encode(TEXTS[:1])  # the new child answers
    assert np.array_equal(again, vectors)
    assert child.restarts == 1


def test_a_child_that_cannot_start_is_retried_a_few_times_then_left(caplog: pytest.LogCaptureFixture) -> None:
    broken = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder, command=[sys.executable, "-c", "pass"])
    with pytest.raises(EncoderProcessError, match="did not start"):
        broken.start()
    results = []
    with caplog.at_level(logging.ERROR, logger="trainer"):
        for _ in range(MAX_RESTARTS + 2):
            results.append(broken.encode(TEXTS[:1]))
            broken.settle()
    assert broken.restarts == MAX_RESTARTS and broken.pid is None
    assert caplog.text.count("did not start") == MAX_RESTARTS
    assert caplog.text.count("encoding in the server process for good") == 1
    assert all(np.array_equal(r, results[0]) for r in results)


def answering_child(kind: bytes, answer: bytes) -> str:
    """A child's program that says it is ready, then answers every request with one frame: `kind`, `answer`."""
    return ("import struct, sys\n"
            "out = sys.stdout.buffer\n"
            "out.write(struct.pack('!cI', b'R', 0)); out.flush()\n"
            "while True:\n"
            "    head = sys.stdin.buffer.read(5)\n"
            "    if len(head) < 5: break\n"
            "    sys.stdin.buffer.read(struct.unpack('!cI', head)[1])\n"
            f"    out.write(struct.pack('!cI', {kind!r}, {len(answer)}) + {answer!r}); out.flush()\n")


GARBAGE = answering_child(b"V", b"abcd")  # vectors of the wrong size for any request


def test_a_child_answering_garbage_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    # Says it is ready, then answers every request with vectors of the wrong size.
    odd = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder, command=[sys.executable, "-c", GARBAGE])
    odd.start()
    first = odd.pid
    try:
        with caplog.at_level(logging.ERROR, logger="trainer"):
            vectors = odd.encode(TEXTS[:2])
        assert vectors.shape == (2, embed.DIM)
        assert np.array_equal(vectors, embed.in_process_encoder().encode(TEXTS[:2]))
        assert "4 bytes for 2 texts" in caplog.text
        odd.settle()
        assert odd.restarts == 1 and odd.pid not in (None, first)
    finally:
        odd.close()
    assert odd.pid is None


def test_closing_stops_a_child_being_started(caplog: pytest.LogCaptureFixture) -> None:
    # A child that would take a minute to say it is ready: close() kills it instead of waiting.
    slow = ("import struct, sys, time\n"
            "time.sleep(60)\n"
            "sys.stdout.buffer.write(struct.pack('!cI', b'R', 0)); sys.stdout.buffer.flush()\n"
            "sys.stdin.buffer.read()\n")
    proc = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder, command=[sys.executable, "-c", slow])
    with caplog.at_level(logging.ERROR, logger="trainer"):
        proc.encode(TEXTS[:1])  # no child yet: encoded here, and a child starts in the background
        starting = proc._replacement
        assert starting is not None and starting.is_alive()
        while proc._starting is None and starting.is_alive():
            starting.join(0.01)
        child = proc._starting
        assert child is not None
        began = time.monotonic()
        proc.close()
        assert time.monotonic() - began < 30  # not the minute the child would take
    assert not starting.is_alive() and proc.pid is None
    assert child.poll() is not None  # killed and reaped
    assert "did not start" not in caplog.text  # a shutdown, not a failure
    proc.encode(TEXTS[:1])  # closed: no new child is started
    assert proc._replacement is starting and proc.restarts == 1


class _Encoder:
    """An encoder for the child's loop alone: its vectors are the texts' lengths; "boom" fails."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if "boom" in texts:
            raise ValueError("cannot encode boom")
        return np.array([[float(len(t))] * 4 for t in texts], dtype=np.float32)


def test_the_childs_loop_answers_each_request_and_reports_failures() -> None:
    requests = io.BytesIO()
    write_frame(requests, b"T", b'["ab", "abc"]')
    write_frame(requests, b"T", b'["boom"]')
    write_frame(requests, b"X", b"")
    write_frame(requests, b"T", b"not json")
    requests.seek(0)
    answers = io.BytesIO()
    serve(requests, answers, _Encoder().encode)  # returns when the requests end (the server went away)
    answers.seek(0)
    assert read_frame(answers) == (b"R", b"")
    kind, payload = read_frame(answers)
    assert kind == b"V"
    assert np.frombuffer(payload, dtype=np.float32).reshape(2, 4)[:, 0].tolist() == [2.0, 3.0]
    assert read_frame(answers) == (b"E", b"ValueError: cannot encode boom")
    assert read_frame(answers) == (b"E", b"unknown request kind b'X'")
    kind, payload = read_frame(answers)
    assert kind == b"E" and payload.startswith(b"JSONDecodeError")
    with pytest.raises(EncoderProcessError, match="closed its pipe"):
        read_frame(answers)
