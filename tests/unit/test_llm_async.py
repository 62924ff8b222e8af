"""The LLM engine's async streamed reply against the loopback fake: the same faults as the sync stream.

Each test runs its own event loop (`asyncio.run`); the engine makes its `AsyncOpenAI` client inside
that loop and the test closes it with `engine.aclose()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import openai
import pytest

from tests.conftest import make_settings
from tests.fakes.openai_server import COMPLETION_TOKENS, PROMPT_TOKENS, FakeOpenAI, closed_port_url, fake_openai
from tests.unit.test_llm_engine import FAST, midcall_request, pickup_request
from trainer.engines import sse
from trainer.engines.base import VoiceRequest
from trainer.engines.faults import RetryPolicy, classify, notice
from trainer.engines.h1 import async_http_client
from trainer.engines.llm import LLMEngine
from trainer.engines.llm_async import AsyncStreamedReply, _sse_json
from trainer.engines.scripted import ScriptedEngine
from trainer.engines.sse import SSEData

T = TypeVar("T")


class AsyncSleeps:
    """Records the engine's awaited waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def engine_for(base_url: str, *, timeout_s: float = 2.0, policy: RetryPolicy = FAST,
               asleep: Callable[[float], Awaitable[None]] | None = None) -> LLMEngine:
    client = openai.OpenAI(api_key="test-key", base_url=base_url, max_retries=0, timeout=timeout_s)
    return LLMEngine(client, "tiny-test", policy=policy, timeout_s=timeout_s, asleep=asleep or AsyncSleeps())


def run(engine: LLMEngine, body: Callable[[LLMEngine], Awaitable[T]]) -> T:
    """Run `body(engine)` in a fresh event loop, closing the engine's async client after."""
    async def main() -> T:
        try:
            return await body(engine)
        finally:
            await engine.aclose()

    return in_fresh_thread(lambda: asyncio.run(main()))


def in_fresh_thread(fn: Callable[[], T]) -> T:
    """Call `fn` on a thread of its own: the main thread may already run an event loop (the browser
    tests' Playwright keeps one for the session), and each of these tests wants a loop of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def read_all(engine: LLMEngine, request: VoiceRequest) -> tuple[list[str], AsyncStreamedReply]:
    async def body(eng: LLMEngine) -> tuple[list[str], AsyncStreamedReply]:
        streamed = eng.astream_reply(request)
        return [piece async for piece in streamed], streamed

    return run(engine, body)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai(reply="Fuel is our biggest cost, and every wasted litre hurts.") as server:
        yield server


def test_a_stream_yields_pieces_then_a_reply_with_usage(fake: FakeOpenAI) -> None:
    pieces, streamed = read_all(engine_for(fake.base_url), midcall_request())
    reply = streamed.reply
    assert len(pieces) == len(fake.words()) and "".join(pieces) == reply.text == fake.reply
    assert (reply.engine, reply.model, reply.tokens_in, reply.tokens_out) == ("llm", "tiny-test", PROMPT_TOKENS,
                                                                              COMPLETION_TOKENS)
    assert not streamed.replaced and streamed.failure is None and streamed.attempts == 1
    body = fake.requests[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "tiny-test" and body["max_tokens"] == 160
    assert streamed.first_piece_ms is not None and streamed.total_ms is not None


def test_streams_reuse_one_connection(fake: FakeOpenAI) -> None:
    """The raw stream is read to its end after [DONE], so the next reply goes over the same connection."""
    engine = engine_for(fake.base_url)

    async def twice(eng: LLMEngine) -> list[str]:
        texts = []
        for _ in range(3):
            streamed = eng.astream_reply(midcall_request())
            texts.append((await streamed.areply()).text)
        return texts

    assert run(engine, twice) == [fake.reply] * 3
    assert len(fake.peers) == 3 and len(set(fake.peers)) == 1


class RawResponse:
    """The part of the openai client's raw streaming response that `_sse_json` reads: the body in pieces."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.request = None

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def read_events(pieces: list[bytes]) -> list[object]:
    async def read() -> list[object]:
        return [item async for item in _sse_json(RawResponse(pieces))]

    return in_fresh_thread(lambda: asyncio.run(read()))


def test_server_sent_events_are_read_as_the_protocol_says() -> None:
    body = ('\n'.join([": a comment", "event: message", 'data: {"choices": [],', 'data:  "n": 1}', "", "",
                       "retry: 10", 'data: {"n": 2}', "", "data: [DONE]", "", 'data: {"after": "done"}', ""])
            + '\n').encode()
    assert read_events([body]) == [{"choices": [], "n": 1}, {"n": 2}]


def test_events_are_whole_however_the_body_is_cut_and_whatever_its_line_ends() -> None:
    body = 'data: {"text": "Да, смотрели"}\r\n\r\ndata: {"n": 2}\r\rdata: {"n": 3}\n\ndata: [DONE]\r\n\r\n'.encode()
    expected = [{"text": "Да, смотрели"}, {"n": 2}, {"n": 3}]
    assert read_events([body]) == expected
    for cut in range(1, len(body)):  # every place, inside a CRLF and inside a two-byte letter included
        assert read_events([body[:cut], body[cut:]]) == expected, cut
    assert read_events([body[i:i + 1] for i in range(len(body))]) == expected


def test_sse_data_reads_events_as_they_end_and_nothing_after_done() -> None:
    events = SSEData()
    assert events.feed(b"data: {\"a\"") == []
    assert events.feed(b": 1}\n") == []
    assert events.feed(b"\n") == [b'{"a": 1}']
    assert events.feed(b"data: [DONE]\n\ndata: {}\n\n") == [] and events.done


def test_an_error_object_in_the_stream_is_sorted_as_malformed(fake: FakeOpenAI) -> None:
    with pytest.raises(openai.APIError, match="overloaded") as caught:
        read_events([b'data: {"error": {"message": "overloaded"}}\n\n'])
    assert classify(caught.value).kind == "malformed"


def test_the_async_and_sync_streams_send_the_same_request_and_store_the_same_reply(fake: FakeOpenAI) -> None:
    engine = engine_for(fake.base_url)
    sync = engine.stream_reply(midcall_request("ru"))
    sync_pieces = list(sync)
    pieces, streamed = read_all(engine, midcall_request("ru"))
    assert pieces == sync_pieces and streamed.reply == sync.reply
    assert fake.requests[0] == fake.requests[1]


def test_pieces_arrive_as_the_server_paces_them(fake: FakeOpenAI) -> None:
    fake.first_token_delay_s, fake.tokens_per_s = 0.3, 50.0

    async def body(eng: LLMEngine) -> tuple[list[float], AsyncStreamedReply]:
        streamed = eng.astream_reply(midcall_request())
        return [time.monotonic() async for _ in streamed], streamed

    arrivals, streamed = run(engine_for(fake.base_url), body)
    assert streamed.first_piece_ms is not None and streamed.first_piece_ms >= 300
    assert streamed.total_ms is not None and streamed.total_ms >= streamed.first_piece_ms + 100
    assert arrivals[-1] - arrivals[0] >= 0.1, "pieces were not buffered into one"


def test_a_slow_first_token_times_out_and_the_scripted_line_streams_instead(fake: FakeOpenAI) -> None:
    fake.first_token_delay_s = 5.0
    request = midcall_request("ru")
    policy = RetryPolicy(attempts=2, backoff_s=0.05, deadline_s=3.0)
    started = time.monotonic()
    pieces, streamed = read_all(engine_for(fake.base_url, timeout_s=0.3, policy=policy), request)
    assert time.monotonic() - started < 2.5
    line = ScriptedEngine().compose(request)
    assert "".join(pieces) == line == streamed.reply.text and len(pieces) > 1
    assert streamed.reply.notice == notice("timeout", "ru") and not streamed.replaced
    assert streamed.failure is not None and streamed.failure.kind == "timeout"
    assert streamed.attempts == 2 and len(fake.requests) == 2


def test_a_refused_connection_streams_the_scripted_line() -> None:
    request = pickup_request()
    sleeps = AsyncSleeps()
    pieces, streamed = read_all(engine_for(closed_port_url(), asleep=sleeps), request)
    assert "".join(pieces) == streamed.reply.text == ScriptedEngine().compose(request)
    assert streamed.reply.notice == notice("connection", "en") and streamed.attempts == FAST.attempts
    assert sleeps.waits == [0.05, 0.1]


def test_a_refused_request_is_not_retried(fake: FakeOpenAI) -> None:
    fake.mode = "bad_request"
    pieces, streamed = read_all(engine_for(fake.base_url), midcall_request("ru"))
    assert "".join(pieces) == streamed.reply.text and streamed.reply.engine == "scripted"
    assert streamed.reply.notice == notice("refused", "ru") and len(fake.requests) == 1


def test_rate_limits_and_errors_before_the_first_piece_are_retried(fake: FakeOpenAI) -> None:
    fake.script, fake.retry_after = ["rate_limit", "error"], "0.1"
    sleeps = AsyncSleeps()
    pieces, streamed = read_all(engine_for(fake.base_url, asleep=sleeps), midcall_request())
    assert "".join(pieces) == fake.reply and streamed.reply.engine == "llm"
    assert streamed.attempts == 3 and sleeps.waits == [0.1, 0.1], "Retry-After, then the backoff"


def test_retry_after_is_honoured_up_to_the_cap_with_a_real_wait(fake: FakeOpenAI) -> None:
    fake.script, fake.retry_after = ["rate_limit", "rate_limit"], "120"
    sleeps = AsyncSleeps()
    _, streamed = read_all(engine_for(fake.base_url, asleep=sleeps), midcall_request())
    assert streamed.reply.engine == "llm" and sleeps.waits == [FAST.retry_after_cap_s] * 2
    fake.script, fake.retry_after = ["rate_limit"], "0.25"
    client = openai.OpenAI(api_key="k", base_url=fake.base_url, max_retries=0, timeout=2.0)
    _, streamed = read_all(LLMEngine(client, "tiny-test", policy=FAST), midcall_request())
    assert streamed.reply.engine == "llm" and fake.times[-1] - fake.times[-2] >= 0.24, "asyncio.sleep waited"


def test_a_server_that_keeps_failing_gives_the_scripted_line_with_a_notice(fake: FakeOpenAI) -> None:
    fake.mode = "error"
    request = midcall_request("ru")
    pieces, streamed = read_all(engine_for(fake.base_url), request)
    assert "".join(pieces) == streamed.reply.text == ScriptedEngine().compose(request)
    assert streamed.reply.notice == notice("server", "ru") and len(fake.requests) == FAST.attempts
    assert (streamed.reply.model, streamed.reply.tokens_in) == (None, None) and not streamed.replaced


def test_a_stream_cut_mid_reply_is_replaced_by_the_scripted_line(fake: FakeOpenAI) -> None:
    fake.mode = "cut"
    request = midcall_request()
    pieces, streamed = read_all(engine_for(fake.base_url), request)
    assert pieces and fake.reply.startswith("".join(pieces)) and "".join(pieces) != fake.reply
    assert streamed.replaced and streamed.reply.text == ScriptedEngine().compose(request)
    assert streamed.reply.engine == "scripted" and streamed.reply.notice == notice("cut", "en")
    assert len(fake.requests) == 1, "a reply already shown is not asked for again"


def test_a_malformed_chunk_is_replaced_by_the_scripted_line(fake: FakeOpenAI) -> None:
    fake.mode = "malformed"
    pieces, streamed = read_all(engine_for(fake.base_url), midcall_request("ru"))
    assert len(pieces) == 2 and streamed.replaced
    assert streamed.reply.engine == "scripted" and streamed.reply.notice == notice("malformed", "ru")


def test_an_empty_stream_falls_back(fake: FakeOpenAI) -> None:
    fake.mode = "empty"
    pieces, streamed = read_all(engine_for(fake.base_url), midcall_request())
    assert "".join(pieces) == streamed.reply.text and streamed.reply.notice == notice("empty", "en")
    assert len(fake.requests) == 1


def test_a_reply_past_the_deadline_is_replaced(fake: FakeOpenAI) -> None:
    fake.tokens_per_s = 10.0
    policy = RetryPolicy(attempts=3, backoff_s=0.05, deadline_s=0.35)
    pieces, streamed = read_all(engine_for(fake.base_url, policy=policy), midcall_request())
    assert 0 < len(pieces) < len(fake.words()) and streamed.replaced
    assert streamed.reply.notice == notice("deadline", "en") and len(fake.requests) == 1


def test_closing_a_stream_early_keeps_the_turn(fake: FakeOpenAI) -> None:
    fake.tokens_per_s = 100.0
    request = midcall_request()

    async def body(eng: LLMEngine) -> tuple[str, AsyncStreamedReply]:
        streamed = eng.astream_reply(request)
        first = await anext(aiter(streamed))
        with pytest.raises(RuntimeError):
            _ = streamed.reply  # still streaming
        await streamed.aclose()
        return first, streamed

    first, streamed = run(engine_for(fake.base_url), body)
    assert first and streamed.replaced and streamed.reply.text == ScriptedEngine().compose(request)
    assert streamed.reply.notice == notice("closed", "en")


def test_closing_before_the_first_piece_keeps_the_scripted_line(fake: FakeOpenAI) -> None:
    async def body(eng: LLMEngine) -> AsyncStreamedReply:
        streamed = eng.astream_reply(midcall_request())
        await streamed.aclose()
        return streamed

    streamed = run(engine_for(fake.base_url), body)
    assert streamed.reply.engine == "scripted" and not streamed.replaced and streamed.attempts == 0
    assert streamed.reply.notice == notice("closed", "en") and not fake.requests


def test_a_cancelled_reader_closes_the_stream_and_keeps_the_turn(fake: FakeOpenAI) -> None:
    fake.tokens_per_s = 5.0  # about two seconds for the whole reply
    request = midcall_request()

    async def body(eng: LLMEngine) -> tuple[list[str], AsyncStreamedReply, float]:
        streamed = eng.astream_reply(request)
        pieces: list[str] = []

        async def read() -> None:
            async for piece in streamed:
                pieces.append(piece)

        task = asyncio.create_task(read())
        while not pieces:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pieces, streamed, time.monotonic() - started

    pieces, streamed, took = run(engine_for(fake.base_url), body)
    assert pieces and streamed.done and streamed.replaced and took < 0.5, "stopped at once, not drained"
    assert streamed.reply.text == ScriptedEngine().compose(request)
    assert streamed.reply.notice == notice("closed", "en")


def test_areply_reads_the_rest_and_the_client_is_closed_with_the_engine(fake: FakeOpenAI) -> None:
    engine = engine_for(fake.base_url)

    async def body(eng: LLMEngine) -> tuple[str, bool, bool]:
        text = (await eng.astream_reply(midcall_request()).areply()).text
        client = eng.async_client()
        same = eng.async_client() is client
        await eng.aclose()
        return text, same, client.is_closed()

    text, same, closed = run(engine, body)
    assert text == fake.reply and same and closed


def test_the_async_client_is_made_only_inside_a_loop_with_the_settings(fake: FakeOpenAI, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, engine="llm", openai_base_url=fake.base_url, openai_api_key="k-test",
                             llm_model="tiny-settings", llm_timeout_s=1.5)
    engine = LLMEngine.from_settings(settings)
    with pytest.raises(RuntimeError):
        in_fresh_thread(lambda: engine.astream_reply(midcall_request()))

    async def body(eng: LLMEngine) -> tuple[openai.AsyncOpenAI, str]:
        return eng.async_client(), (await eng.astream_reply(midcall_request()).areply()).model or ""

    client, model = run(engine, body)
    assert str(client.base_url).rstrip("/") == fake.base_url and client.api_key == "k-test"
    assert client.max_retries == 0 and client.timeout == engine.client.timeout
    assert model == "tiny-settings" and fake.requests[-1]["model"] == "tiny-settings"


def test_the_streamed_request_is_sent_as_the_openai_client_would_send_it(fake: FakeOpenAI) -> None:
    """`sse.aopen_stream` skips the openai client's request machinery: the request must still carry the
    client's path (and any query of its base URL), key, headers and body, and its errors be the client's."""
    params = {"model": "tiny-test", "messages": [{"role": "user", "content": "Здравствуйте"}], "stream": True,
              "timeout": 2.0}

    async def main() -> None:
        client = openai.AsyncOpenAI(api_key="test-key", base_url=f"{fake.base_url}?api-version=2024-06-01",
                                    max_retries=0, http_client=async_http_client())
        try:
            response = await sse.aopen_stream(client, params)
            try:
                events = sse.SSEData()
                async for raw in response.aiter_raw():
                    events.feed(raw)
            finally:
                await response.aclose()
            assert events.done
            fake.mode = "rate_limit"
            with pytest.raises(openai.RateLimitError) as limited:
                await sse.aopen_stream(client, params)
            assert limited.value.status_code == 429 and "slow down" in limited.value.message
            assert limited.value.response.headers["retry-after"] == fake.retry_after
        finally:
            await client.close()
        gone = openai.AsyncOpenAI(api_key="k", base_url=closed_port_url(), max_retries=0)
        with pytest.raises(openai.APIConnectionError):
            await sse.aopen_stream(gone, params)
        await gone.close()

    in_fresh_thread(lambda: asyncio.run(main()))
    path, headers = fake.targets[0]
    assert path.endswith("/chat/completions?api-version=2024-06-01")
    assert headers["authorization"] == "Bearer test-key"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("AsyncOpenAI/Python")
    assert fake.requests[0] == {k: v for k, v in params.items() if k != "timeout"}
