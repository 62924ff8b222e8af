"""The model's request written as the reply is made (`AsyncStreamedReply.send_now`, `Speaking`), against
the loopback fake: the server has it before the reply's first piece is read, the reply read after is the
usual one, and a request nobody reads (closed unread, released, or a guess another request replaced before
its task ran) is dropped with its connection, so the model stops speaking it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.fakes.openai_server import FakeOpenAI, fake_openai
from tests.unit.test_llm_async import engine_for, run
from tests.unit.test_llm_engine import midcall_request, pickup_request
from trainer import conversation
from trainer.engines.llm import LLMEngine
from trainer.web.early import EarlyReply
from trainer.web.streaming import Speaking


def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll `condition` without letting the event loop run (time.sleep): what happens meanwhile happens
    in the fake's own threads, or not at all."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


async def _warm(eng: LLMEngine) -> str:
    """One whole reply, so the client's pool holds an idle kept-alive connection."""
    return (await eng.astream_reply(midcall_request()).areply()).text


def test_a_reply_sent_now_reaches_the_model_before_its_task_runs() -> None:
    with fake_openai() as fake:
        async def body(eng: LLMEngine) -> tuple[str, str, bool]:
            warm = await _warm(eng)
            streamed = eng.astream_reply(midcall_request())
            sent = streamed.send_now()
            on_wire = _until(lambda: len(fake.requests) == 2)  # the loop did not run in between
            text = (await streamed.areply()).text
            assert streamed.send_now() is False  # once only
            return warm, text, sent and on_wire

        warm, text, early = run(engine_for(fake.base_url), body)
    assert early
    assert text == warm == "Hello, yes, speaking."
    assert len(fake.requests) == 2  # the reply read was the one sent ahead, not asked again
    assert fake.requests[0] == fake.requests[1]  # the very request a try would have sent
    assert len(set(fake.peers)) == 1  # on the kept-alive connection


def test_the_first_reply_has_no_idle_connection_and_is_sent_by_its_task() -> None:
    with fake_openai() as fake:
        async def body(eng: LLMEngine) -> tuple[bool, str]:
            streamed = eng.astream_reply(midcall_request())
            return streamed.send_now(), (await streamed.areply()).text

        sent, text = run(engine_for(fake.base_url), body)
    assert (sent, text) == (False, "Hello, yes, speaking.")
    assert len(fake.requests) == 1


def _dropped(fake: FakeOpenAI) -> bool:
    return _until(lambda: fake.dropped == 1)


def test_a_reply_sent_now_and_closed_unread_stops_the_model() -> None:
    with fake_openai(first_token_delay_s=0.2, tokens_per_s=50) as fake:
        async def body(eng: LLMEngine) -> tuple[bool, str | None]:
            await _warm(eng)
            streamed = eng.astream_reply(midcall_request())
            assert streamed.send_now()
            await streamed.aclose()
            return True, streamed.reply.notice

        _, notice = run(engine_for(fake.base_url), body)
        assert _dropped(fake)
    assert notice  # the scripted line stands in, with a notice, as for any reply closed before its try
    assert len(fake.requests) == 2


def test_a_guess_replaced_before_its_task_ran_is_dropped_and_the_turns_request_answered() -> None:
    with fake_openai(first_token_delay_s=0.2, tokens_per_s=50) as fake:
        async def body(eng: LLMEngine) -> list[str]:
            await _warm(eng)
            loop = asyncio.get_running_loop()
            early = EarlyReply(loop, lambda request: Speaking(eng, request))
            early.guess(midcall_request())  # written there and then, on the connection the warm-up left
            assert _until(lambda: len(fake.requests) == 2)
            early.start(pickup_request())  # the turn asked otherwise: the guess is stopped
            await asyncio.sleep(0)  # as in a server, the turn's request reaches the loop before its reader
            pieces = [piece async for piece in early.pieces()]
            assert early.guess_stood is False
            return [piece for piece in pieces if isinstance(piece, str)] + [
                piece.reply.text for piece in pieces if isinstance(piece, conversation.Spoken)]

        said = run(engine_for(fake.base_url), body)
        assert _dropped(fake)
    assert said[-1] == "Hello, yes, speaking."
    assert "".join(said[:-1]).strip() == "Hello, yes, speaking."
    assert len(fake.requests) == 3
    assert fake.requests[2] != fake.requests[1]  # the turn's own request, not the guess


def test_a_speaking_never_read_is_released_when_its_reply_closes() -> None:
    with fake_openai(first_token_delay_s=0.2, tokens_per_s=50) as fake:
        async def body(eng: LLMEngine) -> None:
            await _warm(eng)
            early = EarlyReply(asyncio.get_running_loop(), lambda request: Speaking(eng, request))
            early.guess(midcall_request())
            await early.close()  # the turn was refused: its task never began reading

        run(engine_for(fake.base_url), body)
        assert _dropped(fake)
    assert len(fake.requests) == 2
