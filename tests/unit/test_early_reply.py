"""EarlyReply: a reply asked for from a worker thread, read later on the loop, never left speaking."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from trainer.engines.base import VoiceRequest
from trainer.web.early import EarlyReply, EarlyStreamingResponse, Piece

REQUEST = cast(VoiceRequest, object())  # the speaker below never looks inside


class Speaker:
    """Says `words`, one per `pause_s`; records whether it was asked, finished or closed midway."""

    def __init__(self, words: list[str], pause_s: float = 0.0, fail_after: int | None = None) -> None:
        self.words, self.pause_s, self.fail_after = words, pause_s, fail_after
        self.asked = 0
        self.said: list[str] = []
        self.closed_early = False
        self.finished = False

    async def __call__(self, request: VoiceRequest) -> AsyncIterator[Piece]:
        self.asked += 1
        try:
            for i, word in enumerate(self.words):
                if self.fail_after is not None and i == self.fail_after:
                    raise RuntimeError("the model broke")
                await asyncio.sleep(self.pause_s)
                self.said.append(word)
                yield word
            self.finished = True
        except (GeneratorExit, asyncio.CancelledError):
            self.closed_early = True
            raise


def run(coro_fn: Any, early_for: Speaker, start_from_thread: bool = True, withdraw: bool = False) -> Any:
    """Make an EarlyReply on a fresh loop, start (and maybe withdraw) it from another thread, then run.

    The loop runs on a thread of its own, as the server's does: the test process's main thread may
    already have a loop marked running (the browser tests' Playwright leaves one).
    """
    outcome: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        try:
            early = EarlyReply(loop, early_for)

            def handler_thread() -> None:
                early.start(REQUEST)
                if withdraw:
                    early.cancel()

            if start_from_thread:
                worker = threading.Thread(target=handler_thread)
                worker.start()
                worker.join()
            outcome["value"] = loop.run_until_complete(coro_fn(early))
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc
        finally:
            loop.close()

    server = threading.Thread(target=serve)
    server.start()
    server.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def read_all(early: EarlyReply) -> list[Piece]:
    return [piece async for piece in early.pieces()]


def test_the_pieces_come_in_order_and_the_speaker_runs_once() -> None:
    speaker = Speaker(["We ", "run ", "trucks."])
    assert run(read_all, speaker) == ["We ", "run ", "trucks."]
    assert speaker.asked == 1 and speaker.finished and not speaker.closed_early


def test_a_request_withdrawn_before_the_loop_took_it_is_never_sent() -> None:
    speaker = Speaker(["never"])

    async def settle(early: EarlyReply) -> bool:
        await asyncio.sleep(0.05)
        await early.close()
        return early.started

    assert run(settle, speaker, withdraw=True) is True
    assert speaker.asked == 0, "start and cancel run on the loop in the order called: the task was never made"


def test_a_request_withdrawn_midway_closes_the_speaker() -> None:
    speaker = Speaker(["one ", "two ", "three "], pause_s=0.2)

    async def withdraw_midway(early: EarlyReply) -> None:
        await asyncio.sleep(0.05)
        early.cancel()  # as the handler's thread does when the write fails
        await asyncio.sleep(0.05)
        await early.close()

    run(withdraw_midway, speaker)
    assert speaker.asked == 1 and speaker.closed_early and speaker.said == []


def test_closing_the_reader_stops_the_speaker_and_waits_for_its_stream_to_close() -> None:
    speaker = Speaker(["one ", "two ", "three ", "four "], pause_s=0.05)

    async def read_one(early: EarlyReply) -> list[Piece]:
        pieces = early.pieces()
        first = await pieces.__anext__()
        await pieces.aclose()  # the browser left
        assert speaker.closed_early, "closed before aclose() returned, so the interrupted line can be stored"
        return [first]

    assert run(read_one, speaker) == ["one "]
    assert not speaker.finished


def test_a_failure_of_the_speaker_reaches_the_reader_where_it_happened() -> None:
    speaker = Speaker(["one ", "two "], fail_after=1)
    got: list[Piece] = []

    async def read(early: EarlyReply) -> None:
        async for piece in early.pieces():
            got.append(piece)

    with pytest.raises(RuntimeError, match="the model broke"):
        run(read, speaker)
    assert got == ["one "]


def test_the_response_closes_a_reply_whose_body_was_never_read() -> None:
    speaker = Speaker(["one ", "two ", "three "], pause_s=0.2)

    async def body() -> AsyncIterator[str]:
        yield "event: trainee\n\n"

    async def browser_gone(early: EarlyReply) -> None:
        response = EarlyStreamingResponse(body(), early, {"Cache-Control": "no-store"})

        async def receive() -> Message:
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            raise OSError("the browser went away before the response started")

        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}}
        await asyncio.sleep(0.05)  # the model has begun speaking
        with pytest.raises(ClientDisconnect):
            await response(scope, receive, send)

    run(browser_gone, speaker)
    assert speaker.asked == 1 and speaker.closed_early and not speaker.finished


def test_words_read_before_the_reader_came_are_given_at_once_then_the_reader_reads_on_itself() -> None:
    speaker = Speaker(["one ", "two ", "three "], pause_s=0.15)

    async def late_reader(early: EarlyReply) -> list[tuple[Piece, int]]:
        await asyncio.sleep(0.2)  # "one " was read; the task is waiting for "two "
        got = []
        async for piece in early.pieces():
            got.append((piece, len(speaker.said)))
            assert early._task is not None
            if piece == "three ":
                assert early._task.done(), "the task stopped after its step in flight; the reader read on"
        return got

    got = run(late_reader, speaker)
    assert got[0] == ("one ", 1), "the word already read came at once, not after the model's next word"
    assert [piece for piece, _ in got] == ["one ", "two ", "three "]
    assert speaker.asked == 1 and speaker.finished and not speaker.closed_early


def test_a_reader_that_leaves_after_taking_over_closes_the_speaker() -> None:
    speaker = Speaker(["one ", "two ", "three ", "four "], pause_s=0.05)

    async def read_two(early: EarlyReply) -> list[Piece]:
        pieces = early.pieces()
        got = [await pieces.__anext__(), await pieces.__anext__()]
        assert early._task is not None and early._task.done()
        await pieces.aclose()  # the browser left while the reader held the stream
        assert speaker.closed_early
        return got

    assert run(read_two, speaker) == ["one ", "two "]
    assert not speaker.finished
