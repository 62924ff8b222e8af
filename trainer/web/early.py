"""The model asked for its reply while the trainee's line is still being written.

A streamed turn used to label the line, write and commit it, hand the response back to the event loop,
and only then send the model its request: the write, the commit and the hop (about 2 ms unloaded, more
under load, where the write queues for SQLite's single writer) came before the model even heard the
question, and all of it counted in the first word's wait. The request needs only the director's
decision, so the handler's worker thread hands it to the event loop the moment it is made (`start`) and
goes on writing. A model takes hundreds of milliseconds to say its first word; the line is committed
long before, and the `trainee` event still goes out first, so the trainee's words are as safe as before.
If the line cannot be stored (a 409 race, a hang-up meanwhile, a database error) the handler withdraws
the request (`cancel`) and nothing the model said is shown or stored.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from trainer import conversation
from trainer.engines.base import VoiceRequest

Piece = str | conversation.Spoken
Speak = Callable[[VoiceRequest], AsyncIterator[Piece]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


_END = object()


class EarlyReply:
    """One turn's reply, spoken by `speak` from a task on `loop` and read later with `pieces()`.

    `start` and `cancel` are called from the handler's worker thread and only schedule work on the loop
    (`call_soon_threadsafe`, run in the order called), so the thread never waits for a busy loop.
    Everything else runs on the loop. The task reads the reply only until its reader comes: it finishes
    the step it is in and stops, and the reader, having taken what the task read, reads the rest itself
    (one task and one hand-over fewer for every later word). A reply whose request `speak` wrote as it
    was made (its stream says `sent`) needs no task at all: the reader reads it when it comes. Everything
    ends with `close()`, which the response calls whatever happened to its body
    (`EarlyStreamingResponse`): a reply nobody reads is not left speaking.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, speak: Speak) -> None:
        self._loop = loop
        self._speak = speak
        self._items: collections.deque[object] = collections.deque()  # what the task read before the reader came
        self._stream: AsyncIterator[Piece] | None = None
        self._task: asyncio.Task[None] | None = None
        self._withdrawn = False
        self._reader_came = False
        self._guessed: VoiceRequest | None = None  # what the model was asked ahead of the turn (`guess`)
        self.started = False
        self.guess_stood: bool | None = None  # whether the turn's request was the guess (None: no guess)

    # --- from the handler's worker thread

    def start(self, request: VoiceRequest) -> None:
        """Ask the model now (`trainer.services.calls.OnRequest`)."""
        self.started = True
        self._loop.call_soon_threadsafe(self._begin, request)

    def cancel(self) -> None:
        """Withdraw the request, and any guess (`guess`): the turn it answers was not stored."""
        self._loop.call_soon_threadsafe(self._withdraw)

    def guess_soon(self, request: VoiceRequest) -> None:
        """`guess`, from any thread (the one that finished the line's label, trainer.web.ahead): there and
        then on the loop itself (the label was read there, trainer.spin.encoder_ahead), else scheduled."""
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self.guess(request)
        else:
            self._loop.call_soon_threadsafe(self.guess, request)

    # --- on the event loop

    def guess(self, request: VoiceRequest) -> None:
        """Ask the model now with the request the turn will most likely make (trainer.web.ahead); `start`
        keeps that reply only if the turn's request is the same. Too late once the turn has asked."""
        if self.started or self._withdrawn or self._stream is not None:
            return
        self._guessed = request
        self._speak_now(request)

    def _begin(self, request: VoiceRequest) -> None:
        if self._withdrawn:
            return
        if self._guessed is not None:
            self.guess_stood = self._guessed == request
            if self.guess_stood:
                return  # the model is answering this very request already
            self._guessed = None
            if self._stream is not None:  # another request: stop that reply, and forget what it said
                if self._task is not None:
                    self._task.cancel()
                    self._task = None
                self._items.clear()
                _release(self._stream)
        self._speak_now(request)

    def _speak_now(self, request: VoiceRequest) -> None:
        self._stream = self._speak(request)
        if getattr(self._stream, "sent", False):
            # On the wire already (trainer.web.streaming.Speaking): the reader reads the reply when it
            # comes. A task reading ahead of it would only add two turns of the loop to the first word's
            # way (the task's step, then its end waking the reader).
            return
        self._task = self._loop.create_task(self._pump(self._stream))

    def _withdraw(self) -> None:
        self._withdrawn = True
        if self._task is not None:
            self._task.cancel()

    async def _pump(self, stream: AsyncIterator[Piece]) -> None:
        """Read the reply until the reader comes (`pieces`), then leave the rest to it."""
        try:
            while not self._reader_came:
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    self._items.append(_END)
                    return
                self._items.append(item)
        except Exception as exc:  # handed to the reader, who meets it where `speak` would have raised it
            self._items.append(_Failed(exc))

    async def pieces(self) -> AsyncGenerator[Piece, None]:
        """What `speak` yields, in order, as it comes. Closing this (the browser left) stops the model and
        waits until its stream is closed, so the interrupted line can be stored next."""
        self._reader_came = True
        try:
            while True:  # first what the task read (at once, not after its step in flight), then the rest
                while self._items:
                    item = self._items.popleft()
                    if item is _END:
                        return
                    if isinstance(item, _Failed):
                        raise item.error
                    assert isinstance(item, str | conversation.Spoken)
                    yield item
                if self._task is None or self._task.done():
                    break
                await asyncio.wait([self._task])  # its step in flight (the model's first word, say), then it stops
            if self._stream is not None:
                async for piece in self._stream:
                    yield piece
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the model if it is still speaking and wait for its stream to close. Safe to call again."""
        self._withdrawn = True
        task, stream = self._task, self._stream
        with anyio.CancelScope(shield=True):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task])
                _release(stream)  # a task stopped before it began never read what `speak` sent ahead
            elif stream is not None and hasattr(stream, "aclose"):
                await stream.aclose()  # read by the reader: closed where it stopped (a no-op once finished)


def _release(stream: AsyncIterator[Piece] | None) -> None:
    """Drop the model request a stream wrote as it was made (trainer.web.streaming.Speaking) if nothing
    read it: its connection is closed, so the model stops."""
    release = getattr(stream, "release", None)
    if release is not None:
        release()


class EarlyStreamingResponse(StreamingResponse):
    """A streamed turn whose reply was asked for early: whatever becomes of the body (read to the end, cut
    by the browser, never begun because the browser left first), the model is not left speaking."""

    def __init__(self, content: AsyncIterator[str], early: EarlyReply, headers: dict[str, str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self._early = early

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._early.close()
