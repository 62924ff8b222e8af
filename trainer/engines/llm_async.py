"""The LLM engine's streamed reply on the event loop, for the web server.

`StreamedReply` blocks its thread while the model speaks; a server streaming
many replies at once would hold a worker thread for each, for the whole reply.
`AsyncStreamedReply` reads the same stream through `openai.AsyncOpenAI` and
awaits its waits, so a reply in flight costs no thread. Its behaviour is that of
`StreamedReply`, step for step (the steps themselves are shared, in `_Reply`):
retries only before the first piece, the turn's deadline, a cut, garbled or empty
stream replaced by the scripted line with a notice, `replaced`, and closing early
(`aclose()`, or the task being cancelled) keeping the scripted line as the reply.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from trainer.engines import sse
from trainer.engines.base import VoiceReply, VoiceRequest
from trainer.engines.h1 import H1Transport
from trainer.engines.llm import _WORDS, _Chunks, _Reply

if TYPE_CHECKING:
    from trainer.engines.llm import LLMEngine


class AsyncStreamedReply(_Reply):
    """One streamed client line, single use: `async for` its pieces, then read `reply`.

    `reply` is there once every piece was read, or after `aclose()`; `areply()`
    reads what is left and returns it. If the task reading the pieces is
    cancelled (the browser went away), the server's stream is closed and the
    scripted line with a notice becomes the reply, as after `aclose()`.
    """

    def __init__(self, engine: LLMEngine, client: Any, request: VoiceRequest) -> None:
        super().__init__(engine, request)
        self._client = client
        self._pieces = self._run()
        self._first: tuple[str, dict[str, Any], httpx2.Request] | None = None  # built by `send_now`
        self._sent: tuple[H1Transport, httpx2.Request] | None = None  # written by `send_now`, not taken yet

    def send_now(self) -> bool:
        """Build the first try's request and, where the client's transport can (`H1Transport.send_now`),
        write it now (True), so the model hears it before the task reading the reply first runs: one turn
        of a busy event loop sooner. Call it on the loop, before the pieces are read; a reply then never
        read must be closed (`aclose`) or `release`d, so the model stops."""
        if self.attempts or self._first is not None:
            return False
        eng, request = self._engine, self._request
        line = eng.fallback.compose(request)
        params = eng.params(request, line, stream=True)
        http_request = sse.build_request(self._client, params)
        self._first = (line, params, http_request)
        transport = self._client._client._transport_for_url(http_request.url)
        if isinstance(transport, H1Transport) and transport.send_now(http_request):
            self._sent = transport, http_request
            return True
        return False

    def release(self) -> None:
        """Drop the request `send_now` wrote if no try took it (nobody read the reply): its connection
        is closed, so the model stops speaking it. Safe to call again, and after the reply was read."""
        sent, self._sent = self._sent, None
        if sent is not None:
            transport, http_request = sent
            transport.forget(http_request)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._pieces

    @property
    def reply(self) -> VoiceReply:
        if self._reply is None:
            raise RuntimeError("the reply is still streaming: read every piece, or await aclose() or areply()")
        return self._reply

    async def areply(self) -> VoiceReply:
        """Read the pieces not read yet, then return the reply."""
        async for _ in self._pieces:
            pass
        self._never_started()
        return self.reply

    async def aclose(self) -> None:
        """Stop the stream: the scripted line with a notice is the reply (unless the reply was complete)."""
        self.release()
        await self._pieces.aclose()
        self._never_started()

    async def _run(self) -> AsyncGenerator[str, None]:
        eng, request = self._engine, self._request
        first, self._first = self._first, None
        line = first[0] if first is not None else eng.fallback.compose(request)
        given = False
        try:
            while True:
                self.attempts += 1
                chunks = _Chunks()
                try:
                    if first is not None:  # the first try, as `send_now` built (and perhaps wrote) it
                        _, params, built = first
                        first = None
                    else:
                        params, built = eng.params(request, line, stream=True), None
                    try:
                        response = await sse.aopen_stream(self._client, params, built)
                    finally:
                        self.release()  # taken by the transport, unless the send failed before
                    try:
                        async for data in _sse_json(response):
                            if piece := self._shown(chunks.add_data(data)):
                                given = True
                                yield piece
                            self._check_deadline()
                    finally:
                        await _aclose(response)
                    self._complete(chunks)
                    return
                except Exception as exc:
                    pause = self._after_failure(exc, line, given=given)
                    if pause is None:
                        if not given:
                            for word in _WORDS.findall(line):
                                yield word
                        return
                    await eng.asleep(pause)
        finally:
            self._stopped(line, given=given)


async def _sse_json(response: Any) -> AsyncIterator[Any]:
    """The JSON of each `data:` event of a chat completion stream, up to `[DONE]` (see `sse`). The body is
    read to its end after `[DONE]` so the connection goes back to the pool. Transport errors become the
    openai client's own (timeout, connection), so `faults.classify` sorts them the same."""
    events = sse.SSEData()
    try:
        async for raw in response.aiter_raw():
            for data in events.feed(raw):
                yield sse.chunk(data, response.request)
    except httpx2.TransportError as exc:
        raise sse.client_error(exc, response.request) from exc


async def _aclose(response: Any) -> None:
    """Release the stream's connection, even while the reading task is being cancelled."""
    with anyio.CancelScope(shield=True):
        try:
            await response.aclose()
        except Exception:  # closing a broken stream may fail again; the turn goes on regardless
            return
