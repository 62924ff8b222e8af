"""`embed.prefetch`: a line's vectors encoded ahead of its label, on a background thread, with the real
encoder; the label waits for what is in flight instead of encoding it twice, and a failed prefetch
leaves the work to the label."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from trainer.spin import embed
from trainer.spin.classifier import classify, prefetch_vectors
from trainer.spin.segment import split_segments


class Recording:
    """The real encoder, recording each batch it is asked for; `gate` (if set) holds a batch back until
    the test opens it, and `fail_first` makes the first batch raise, as a dead encoder process would."""

    def __init__(self, gate: threading.Event | None = None, fail_first: bool = False) -> None:
        self.real = embed.in_process_encoder()
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.gate = gate
        self.fail_at = 1 if fail_first else 0  # the batch (counted from 1) that raises

    def encode(self, texts: Sequence[str]) -> Any:
        self.batches.append(list(texts))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30), "the test never opened the gate"
        if len(self.batches) == self.fail_at:
            raise RuntimeError("the encoder process died")
        return self.real.encode(list(texts))


@pytest.fixture
def swap() -> Iterator[Any]:
    """Use an encoder of the test's, with an empty cache; the in-process encoder again afterwards."""
    def use(encoder: Recording) -> Recording:
        embed.use_encoder(encoder, embed.DIM)
        return encoder

    yield use
    embed.encode_in_this_process()
    with embed._lock:
        embed._cache.clear()
        assert not embed._pending, "a prefetch was left in flight"


def wait_for_prefetches() -> None:
    """Until the prefetch thread has finished what it was given (also used by tests/api)."""
    for _ in range(3000):
        with embed._lock:
            if not embed._pending:
                return
        threading.Event().wait(0.01)
    raise AssertionError("the prefetch never finished")


def test_prefetched_vectors_are_the_encoders_own_and_are_not_encoded_again(swap: Any) -> None:
    enc = swap(Recording())
    embed.prefetch(["how many trucks run today", "who plans the routes"])
    wait_for_prefetches()
    vectors = embed.embed_many(["how many trucks run today", "who plans the routes", "what does a late load cost"])
    assert enc.batches == [["how many trucks run today", "who plans the routes"], ["what does a late load cost"]]
    expected = enc.real.encode(["how many trucks run today", "who plans the routes", "what does a late load cost"])
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)


def test_a_label_waits_for_the_vectors_in_flight(swap: Any) -> None:
    gate = threading.Event()
    enc = swap(Recording(gate=gate))
    embed.prefetch(["сколько машин у вас в парке"])
    assert enc.entered.wait(30)
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.append(embed.embed_many(["сколько машин у вас в парке"])))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive() and not got, "the reader did not wait for the prefetch"
    gate.set()
    reader.join(30)
    assert len(got) == 1 and got[0].shape == (1, embed.DIM)
    assert enc.batches == [["сколько машин у вас в парке"]]  # encoded once, by the prefetch


def test_a_failed_prefetch_leaves_the_encoding_to_the_label(swap: Any) -> None:
    enc = swap(Recording(fail_first=True))
    embed.prefetch(["how do you plan the routes"])
    wait_for_prefetches()
    vectors = embed.embed_many(["how do you plan the routes"])
    assert enc.batches == [["how do you plan the routes"], ["how do you plan the routes"]]
    np.testing.assert_allclose(vectors, enc.real.encode(["how do you plan the routes"]), rtol=1e-5, atol=1e-6)


def test_cached_and_blank_texts_are_not_prefetched(swap: Any) -> None:
    enc = swap(Recording())
    embed.embed_many(["who plans the routes"])
    embed.prefetch(["who plans the routes", "  ", ""])
    wait_for_prefetches()
    assert enc.batches == [["who plans the routes"]]


def test_prefetch_vectors_sends_the_segments_the_label_reads(swap: Any) -> None:
    enc = swap(Recording())
    line = "Thanks for taking the call. How many trucks do you run? What happens when one is late?"
    prefetch_vectors(line)
    wait_for_prefetches()
    assert enc.batches == [sorted(set(split_segments(line)))]
    label = classify(line, (), "en")
    assert enc.batches == [sorted(set(split_segments(line)))], "the label encoded a segment again"
    with embed._lock:
        embed._cache.clear()
    assert classify(line, (), "en") == label  # the same label without the prefetch


def test_lines_queued_while_the_encoder_is_busy_are_encoded_together(swap: Any) -> None:
    gate = threading.Event()
    enc = swap(Recording(gate=gate))
    embed.prefetch(["how many trucks run today"])
    assert enc.entered.wait(30)  # the thread is inside the first encoding; the next two queue behind it
    embed.prefetch(["who plans the routes"])
    embed.prefetch(["what does a late load cost", "who plans the routes"])
    gate.set()
    wait_for_prefetches()
    assert enc.batches == [["how many trucks run today"], ["who plans the routes", "what does a late load cost"]]
    texts = ["how many trucks run today", "who plans the routes", "what does a late load cost"]
    vectors = embed.embed_many(texts)
    assert len(enc.batches) == 2, "the label encoded again what the prefetches had"
    np.testing.assert_allclose(vectors, enc.real.encode(texts), rtol=1e-5, atol=1e-6)


def test_held_back_texts_are_encoded_together_once_their_time_is_up(swap: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(embed, "HOLD_S", 0.05)
    enc = swap(Recording())
    embed.prefetch_later(["we run eleven trucks, two break down every week"])
    embed.prefetch_later(["  ", "we hire drivers in spring", "we run eleven trucks, two break down every week"])
    for _ in range(3000):
        if enc.batches:
            break
        threading.Event().wait(0.01)
    wait_for_prefetches()
    # one encoding, in the order last held (a text held again counts from then)
    assert enc.batches == [["we hire drivers in spring", "we run eleven trucks, two break down every week"]]
    embed.embed_many(["we hire drivers in spring"])
    assert len(enc.batches) == 1, "a held-back text was encoded twice"


def test_held_back_texts_are_bounded_and_wait_behind_a_labels_line(swap: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(embed, "HOLD_S", 3600.0)  # released by the test, not by the timer
    gate = threading.Event()
    enc = swap(Recording(gate=gate))
    held = [f"client line number {i}" for i in range(embed.HELD_BACK + 3)]
    embed.prefetch_later(held)
    with embed._lock:
        assert list(embed._held) == held[3:], "the oldest are dropped beyond HELD_BACK"
    embed.prefetch(["first answer"])
    assert enc.entered.wait(30)  # the thread is inside that encoding; what comes next queues
    assert enc.batches == [["first answer"]], "a held-back text joined a label's batch"
    embed._release_held()
    embed.prefetch(["second answer"])
    gate.set()
    wait_for_prefetches()
    assert enc.batches[:2] == [["first answer"], ["second answer"]], "a held-back batch went before a label's"
    riders = [t for batch in enc.batches[2:] for t in batch]
    assert riders == held[3:], "oldest first, each once"
    assert {len(batch) for batch in enc.batches[2:]} == {embed.HELD_BATCH}


def test_a_held_back_batch_that_waited_its_time_goes_before_a_labels_line(swap: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(embed, "HOLD_S", 3600.0)
    gate = threading.Event()
    enc = swap(Recording(gate=gate))
    embed.prefetch(["first answer"])
    assert enc.entered.wait(30)  # the encoder is busy; what comes next queues
    embed.prefetch_later(["we hire drivers in spring"])
    embed._release_held()
    monkeypatch.setattr(embed, "HOLD_S", 0.0)  # as if it had waited its time in the queue
    embed.prefetch(["second answer"])
    gate.set()
    wait_for_prefetches()
    assert enc.batches == [["first answer"], ["we hire drivers in spring"], ["second answer"]], \
        "a busy encoder put a held-back batch off beyond its time"


def test_a_failed_batch_fails_every_prefetch_in_it_and_the_label_encodes_them(swap: Any) -> None:
    gate = threading.Event()
    enc = swap(Recording(gate=gate))
    enc.fail_at = 2
    embed.prefetch(["how many trucks run today"])
    assert enc.entered.wait(30)
    embed.prefetch(["how do you plan the routes"])
    embed.prefetch(["who signs the contracts"])
    gate.set()
    wait_for_prefetches()
    assert enc.batches[1:] == [["how do you plan the routes", "who signs the contracts"]]  # the one that failed
    texts = ["how many trucks run today", "how do you plan the routes", "who signs the contracts"]
    vectors = embed.embed_many(texts)
    assert enc.batches[2:] == [["how do you plan the routes", "who signs the contracts"]], "encoded by the label"
    np.testing.assert_allclose(vectors, enc.real.encode(texts), rtol=1e-5, atol=1e-6)
