"""Labels begun ahead asked of the encoder's child from the event loop, on a channel of their own.

Why: a label begun as its line arrived (trainer.spin.label_ahead) went to the child from a thread of its
own, and its answer came back to that thread. Each of the two needed the GIL, which the event loop and
the database threads keep busy: under load the thread took 0.6 ms at the median and 3 ms at the 95th
percentile just to begin a label while no other label was under way (bench/phases.py), and as long again
to take the answer, and the guessed reply it gives (trainer.web.ahead) waited for a turn of the loop after
that. The loop, which holds the GIL anyway when the line arrives, now writes the request itself; the answer
is read by the loop as its bytes arrive, and the reply guessed from it is asked for in the same step.

The channel's requests are written without blocking: what is written and not answered yet is kept under
the pipe's capacity (`room`), so a write never waits for the child, and a label that would not fit goes
the old way (None). The child answers in order, one at a time, so answers are matched to requests in
order. A channel that breaks (the child died, an unreadable answer) answers None to every label it was
asked and takes no more: the turn then labels its line as it would without it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
from concurrent.futures import Future

from trainer.spin.encoder_wire import HEADER, EncoderProcessError, LabelRefused, frame, label_answer
from trainer.spin.types import Classification

log = logging.getLogger("trainer")

#: The pipe's capacity when the system does not say (`F_GETPIPE_SZ`): the least Linux gives a pipe.
LEAST_CAPACITY = 4096


def room(fd: int) -> int:
    """Bytes of requests that may be written and not answered yet: three quarters of the pipe's capacity
    (64 KiB on Linux, one page for a user past its pipe quota), so a write never finds it full. A request
    is a line and a few turns of context: a few KiB."""
    try:
        capacity = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except (AttributeError, OSError):  # not Linux
        capacity = LEAST_CAPACITY
    return capacity * 3 // 4


class AheadChannel:
    """A pair of pipes to the child (`requests_fd`, `answers_fd`: ours; it serves the other ends), used from
    one event loop. `ask` on the loop; `close` from any thread."""

    def __init__(self, requests_fd: int, answers_fd: int) -> None:
        os.set_blocking(requests_fd, False)
        os.set_blocking(answers_fd, False)
        self._requests = requests_fd
        self._room = room(requests_fd)
        self._answers = answers_fd
        self._pending: collections.deque[tuple[Future[Classification | None], int]] = collections.deque()
        self._unanswered = 0  # bytes of the pending requests
        self._read = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broken = False
        self._closed = False

    def ask(self, request: bytes) -> Future[Classification | None] | None:
        """Write the label request `request` (`encoder_wire.label_request`) and return its label to come
        (None: the child refused it or the channel broke), or None when it cannot be asked here now (not on
        the loop the channel serves, no room, broken): the caller asks the usual way."""
        if self._broken or self._closed:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        data = frame(b"L", request)
        if self._unanswered + len(data) > self._room:
            return None
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self._answers, self._readable)
        elif self._loop is not loop:
            return None
        try:
            written = os.write(self._requests, data)
        except OSError as exc:  # the child is gone (EPIPE), or the pipe is full after all
            self._break(f"the request could not be written ({exc})")
            return None
        if written != len(data):  # half a frame in the pipe: nothing more can follow it
            self._break(f"{written} of {len(data)} bytes of a request written")
            return None
        label: Future[Classification | None] = Future()
        label.set_running_or_notify_cancel()  # under way: a turn asking for it waits for it, never cancels it
        self._pending.append((label, len(data)))
        self._unanswered += len(data)
        return label

    def said_ready(self) -> bool:
        """Whether the child said ready on the channel (it does before it does on stdout, so the answer is
        there by now if it ever comes)."""
        ready = HEADER.pack(b"R", 0)
        try:
            return os.read(self._answers, len(ready)) == ready
        except OSError:  # BlockingIOError: nothing said
            return False

    @property
    def waiting(self) -> int:
        """Labels asked and not answered yet (tests)."""
        return len(self._pending)

    def _readable(self) -> None:
        try:
            data = os.read(self._answers, 1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            self._break(f"the answers could not be read ({exc})")
            return
        if not data:
            self._break("the encoder process closed the channel")
            return
        self._read += data
        while len(self._read) >= HEADER.size:
            kind, size = HEADER.unpack_from(self._read)
            if len(self._read) < HEADER.size + size:
                return
            payload = bytes(self._read[HEADER.size:HEADER.size + size])
            del self._read[:HEADER.size + size]
            if not self._pending:
                self._break(f"an answer of kind {kind!r} to no request")
                return
            label, length = self._pending.popleft()
            self._unanswered -= length
            try:
                result: Classification | None = label_answer(kind, payload)
            except LabelRefused as exc:
                log.error("sentence encoder process: the classifier failed (%s); this line is labelled in "
                          "the server process", exc)
                result = None
            except EncoderProcessError as exc:
                label.set_result(None)
                self._break(str(exc))
                return
            label.set_result(result)  # its callbacks run here (trainer.web.ahead asks the model from them)

    def _break(self, why: str) -> None:
        """Answer None to every label asked, and take no more (on the loop)."""
        if not self._broken and not self._closed:
            log.warning("sentence encoder process: the channel of labels begun ahead broke (%s); they go the "
                        "usual way", why)
        self._broken = True
        self._stop_reading()
        pending, self._pending = self._pending, collections.deque()
        self._unanswered = 0
        for label, _ in pending:
            label.set_result(None)

    def _stop_reading(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._answers)

    def close(self) -> None:
        """Stop (the child is being replaced, or the server stops): labels still pending answer None, and
        the pipes are closed, on the loop if the channel was used on one. Any thread; safe to call again."""
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nothing reads the channel any more
                loop.call_soon_threadsafe(self._shut)
                return
        self._shut()

    def _shut(self) -> None:
        self._break("closed")
        for fd in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)
