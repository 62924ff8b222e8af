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

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import openai

from trainer.engines.base import VoiceReply, VoiceRequest
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
        await self._pieces.aclose()
        self._never_started()

    async def _run(self) -> AsyncGenerator[str, None]:
        eng, request = self._engine, self._request
        line = eng.fallback.compose(request)
        given = False
        try:
            while True:
                self.attempts += 1
                chunks = _Chunks()
                try:
                    response = await self._client.chat.completions.with_streaming_response.create(
                        **eng.params(request, line, stream=True)).__aenter__()
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
    """The JSON of each `data:` event of a chat completion stream, up to `[DONE]`.

    Read from the openai client's raw response and parsed with `json.loads`, rather than built into
    typed chunk objects: that construction was most of what a streamed token cost the server. The
    body is read to its end after `[DONE]` so the connection goes back to the pool. Transport errors
    become the openai client's own (timeout, connection), so `faults.classify` sorts them the same.
    """
    lines: list[str] = []
    done = False
    try:
        async for line in response.iter_lines():
            if line:
                name, _, value = line.partition(":")
                if name == "data" and not done:
                    lines.append(value[1:] if value.startswith(" ") else value)
                continue
            if not lines:
                continue
            data, lines = "\n".join(lines), []
            if data.startswith("[DONE]"):
                done = True
                continue
            parsed = json.loads(data)  # not JSON: a ValueError, sorted as "malformed"
            if isinstance(parsed, dict) and parsed.get("error"):
                error = parsed["error"]
                message = error.get("message") if isinstance(error, dict) else None
                raise openai.APIError(message if isinstance(message, str) and message else "an error in the stream",
                                      request=response.http_response.request, body=error)
            yield parsed
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.http_response.request) from exc
    except httpx2.TransportError as exc:
        raise openai.APIConnectionError(request=response.http_response.request) from exc


async def _aclose(stream: Any) -> None:
    """Release the stream's connection, even while the reading task is being cancelled."""
    close = getattr(stream, "close", None)
    if not callable(close):
        return
    with anyio.CancelScope(shield=True):
        try:
            await close()
        except Exception:  # closing a broken stream may fail again; the turn goes on regardless
            return
