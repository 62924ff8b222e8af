"""The sentence encoder, and the classifier that reads its vectors, in a child process of its own, for a
serving process (`spin-trainer serve`).

Why: one encoding is about 2 ms of numpy work made of dozens of small operations, and each lets go of the
GIL and must win it back. In a server whose event loop and worker threads keep the GIL busy, every one
of those handovers waits: an encoding that takes 2 ms alone took 3.6 ms at the median and 11 ms at the
95th percentile at 10 trainees, and far more under load, on the label's path before the model is asked.
In a child process it is one wait on a pipe, during which the GIL is free, and the encoder's work lands
on another core. The vectors are the same (the child runs the same encoder).

The label itself runs there too (`classify`): the rule pass and the learned model are about 3 M of the
~20 M instructions a streamed turn costs the server, all of it Python holding the GIL, on the path before
the model is asked. In the child they run beside the server's GIL, next to the vectors they read (kept
in the child's own cache, which the server's prefetches fill). The label is the same: the child runs the
same classifier on the same line, context and language. A web server begins a line's label as its request
arrives (trainer.spin.label_ahead), so the child works it out while the server loads the call.

Protocol (stdin/stdout of `python -m trainer.spin.encoder_process`, each frame a kind byte and a length):
  parent -> child  b"T" + JSON list of texts, or
                   b"L" + JSON {"text", "context": [[role, text], ...], "lang": "ru" | "en" | null}
  child -> parent  b"R" (ready, once, when the weights are loaded), then per request
                   b"V" + float32 vectors (len(texts) x DIM), b"C" + JSON label (`encoder_wire.label_json`),
                   or b"E" + UTF-8 message
The same frames go both ways on a second pair of pipes, the bulk channel (its descriptors in
`BULK_FDS_ENV`), served by a thread of the child's own: every encoding goes there, the labels stay on
stdin/stdout, so a label never waits in a pipe behind an encoding (a few milliseconds each on two busy
cores). The child says ready on it (b"R") before it does on stdout; a child that does not (an older or a
stand-in one) is asked everything on stdin/stdout.
A child that dies or answers garbage is replaced in the background; meanwhile, and for good after
`MAX_RESTARTS` replacements, this process encodes and labels in-process: a label never fails or waits for
a child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt

from trainer.spin.encoder_ahead import AheadChannel
from trainer.spin.encoder_wire import (
    EncoderProcessError,
    LabelRefused,
    label_answer,
    label_json,
    label_request,
    read_frame,
    write_frame,
)
from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn

log = logging.getLogger("trainer")

#: Replacements of a dead child before this process keeps encoding by itself.
MAX_RESTARTS = 3
#: Seconds a new child may take to load the encoder and say it is ready.
START_TIMEOUT_S = 60.0


#: The environment variable that gives the child the bulk channel's descriptors: "READ,WRITE".
BULK_FDS_ENV = "SPIN_TRAINER_ENCODER_BULK_FDS"
#: The same for the channel of labels begun ahead, asked from the server's event loop (encoder_ahead).
AHEAD_FDS_ENV = "SPIN_TRAINER_ENCODER_AHEAD_FDS"
#: One BLAS thread in the child: its two threads may encode at once, and the numbers must not depend on
#: how many threads a product was split across (the encoder asks for one per call; this is the default).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_T = TypeVar("_T")
Labeller = Callable[[str, Sequence[ContextTurn], "Lang | None"], Classification]


@dataclass(eq=False)
class _Child:
    """A running child: its process (labels on its stdin/stdout) and its bulk channel, if it serves one."""

    proc: subprocess.Popen[bytes]
    bulk: tuple[IO[bytes], IO[bytes]] | None = None  # (requests, answers)
    ahead: AheadChannel | None = None  # labels begun ahead, asked from the event loop

    def pipes(self, bulk: bool) -> tuple[IO[bytes], IO[bytes]]:
        """Where to ask: the bulk channel for `bulk` work when there is one, else stdin/stdout."""
        if bulk and self.bulk is not None:
            return self.bulk
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return self.proc.stdin, self.proc.stdout


class EncoderProcess:
    """An encoder (`encode(list[str]) -> (n, dim) float32`) whose work runs in a child process.

    One label and one encoding at a time, each on its own channel (see the module's docstring);
    thread-safe. `fallback` makes the in-process encoder used while the child is down; `command` is the
    child's command line (tests).
    A dead child is replaced on a thread of its own, so no label waits the second a new child takes
    to load its weights: labels are encoded in this process until it is ready.
    """

    def __init__(self, dim: int, fallback: Callable[[], Any],
                 command: Sequence[str] = (sys.executable, "-m", "trainer.spin.encoder_process")) -> None:
        self.dim = dim
        self.restarts = 0
        self._fallback = fallback
        self._command = list(command)
        self._lock = threading.Lock()  # the child's stdin/stdout, and which child is current
        self._bulk_lock = threading.Lock()  # the bulk channel; taken before `_lock`, never after it
        self._child: _Child | None = None
        self._replacement: threading.Thread | None = None
        self._closed = False
        self._given_up = False
        self._starting: subprocess.Popen[bytes] | None = None  # a replacement loading its weights

    def start(self) -> None:
        """Start the child and wait until its weights are loaded (about a second)."""
        child = self._spawn()
        with self._lock:
            self._child = child

    def _spawn(self) -> _Child:
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        ahead_from_parent, ahead_to_child = os.pipe()
        ahead_from_child, ahead_to_parent = os.pipe()
        env = {**_ONE_THREAD, **os.environ, BULK_FDS_ENV: f"{from_parent},{to_parent}",
               AHEAD_FDS_ENV: f"{ahead_from_parent},{ahead_to_parent}"}
        theirs = (from_parent, to_parent, ahead_from_parent, ahead_to_parent)
        try:
            proc = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                    pass_fds=theirs)
        except BaseException:
            for fd in (*theirs, to_child, from_child, ahead_to_child, ahead_from_child):
                os.close(fd)
            raise
        for fd in theirs:  # the child's ends: its own copies are the only ones, so its death is our EOF
            os.close(fd)
        child = _Child(proc, (os.fdopen(to_child, "wb"), os.fdopen(from_child, "rb")),
                       AheadChannel(ahead_to_child, ahead_from_child))
        assert proc.stdout is not None
        self._starting = proc  # close() kills it rather than wait for its weights
        if self._closed:  # close() came between the start and the line above
            proc.kill()
        timer = threading.Timer(START_TIMEOUT_S, proc.kill)  # a child stuck loading: the read below ends
        timer.start()
        try:
            kind, payload = read_frame(proc.stdout)
        except EncoderProcessError:
            self._end(child, kill=True)
            raise EncoderProcessError(f"the encoder process did not start (exit code {proc.returncode}); "
                                      "its error is in the server's log") from None
        finally:
            timer.cancel()
            self._starting = None
        if kind != b"R":
            self._end(child, kill=True)
            raise EncoderProcessError(f"the encoder process answered {kind!r} instead of ready: "
                                      f"{payload[:200].decode('utf-8', 'replace')}")
        self._bulk_ready(child)
        self._ahead_ready(child)
        return child

    @staticmethod
    def _ahead_ready(child: _Child) -> None:
        """Keep the channel of labels begun ahead if the child said ready on it (first of all), else close it."""
        assert child.ahead is not None
        if not child.ahead.said_ready():
            child.ahead.close()
            child.ahead = None

    def _bulk_ready(self, child: _Child) -> None:
        """Keep the bulk channel if the child said ready on it before it did on stdout, else close it."""
        assert child.bulk is not None
        requests, answers = child.bulk
        ready = False
        if select.select([answers], [], [], 0)[0]:
            try:
                ready = read_frame(answers) == (b"R", b"")
            except EncoderProcessError:
                ready = False
        if not ready:
            child.bulk = None
            for stream in (requests, answers):
                with contextlib.suppress(OSError):
                    stream.close()

    @property
    def pid(self) -> int | None:
        """The child's process id, None while there is none (for tests and metrics)."""
        child = self._child
        return child.proc.pid if child is not None else None

    @property
    def has_ahead_channel(self) -> bool:
        """Whether labels begun ahead can be asked from the event loop (`label_soon`; tests)."""
        child = self._child
        return child is not None and child.ahead is not None

    def label_soon(self, text: str, context: Sequence[ContextTurn], lang: Lang | None
                   ) -> Future[Classification | None] | None:
        """On the event loop: ask the child for a label begun ahead, without waiting (trainer.spin.
        encoder_ahead), and return the label to come; None when it cannot be asked so (no child, a child
        without the channel, not on a loop): the caller asks the usual way."""
        child = self._child
        if child is None or child.ahead is None:
            return None
        return child.ahead.ask(label_request(text, context, lang))

    @property
    def has_bulk_channel(self) -> bool:
        """Whether encodings go to the child on a channel of their own (tests)."""
        child = self._child
        return child is not None and child.bulk is not None

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of `texts`, from the child; from this process while the child is down."""
        texts = list(texts)
        vectors = self._asking(lambda pipes: self._ask(pipes, texts), "encoded", bulk=True)
        if vectors is not None:
            return vectors
        return np.asarray(self._fallback().encode(texts), dtype=np.float32)

    def classify(self, text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
        """The label of a trainee line (`trainer.spin.classifier.classify_with`, the shipped approach) worked
        out in the child; None while the child is down or when its classifier failed on the line: the caller
        labels it in this process."""
        request = label_request(text, context, lang)
        return self._asking(lambda pipes: self._ask_label(pipes, request), "labelled")

    def _asking(self, ask: Callable[[tuple[IO[bytes], IO[bytes]]], _T], done_here: str,
                bulk: bool = False) -> _T | None:
        """`ask(pipes)` of the current child, on its bulk channel for `bulk` work when it has one; None when
        there is no child or it failed (then it is dropped and replaced)."""
        if bulk:
            with self._bulk_lock:
                child = self._child
                if child is not None and child.bulk is not None:
                    return self._asked(child, ask, child.bulk, done_here)
        with self._lock:
            child = self._child
            if child is not None:
                return self._asked(child, ask, child.pipes(False), done_here)
            self._replace()
        return None

    def _asked(self, child: _Child, ask: Callable[[tuple[IO[bytes], IO[bytes]]], _T],
               pipes: tuple[IO[bytes], IO[bytes]], done_here: str) -> _T | None:
        """`ask(pipes)`, the pipes' lock held; a failed child is dropped and a new one started."""
        try:
            return ask(pipes)
        except LabelRefused as exc:
            log.error("sentence encoder process: the classifier failed (%s); this line is labelled in "
                      "the server process", exc)
            return None
        except (OSError, ValueError, EncoderProcessError) as exc:  # ValueError: a pipe closed meanwhile
            log.error("sentence encoder process failed (%s); this line is %s in the server process "
                      "while a new one starts", exc, done_here)
        # `_lock` is held already on stdin/stdout; on the bulk channel it is taken after `_bulk_lock`
        if pipes is child.bulk:
            with self._lock:
                self._drop(child)
        else:
            self._drop(child)
        return None

    def _drop(self, child: _Child) -> None:
        """Kill a failed child, if it is still the current one, and start a new one (`_lock` held)."""
        if self._child is child:
            self._child = None
            self._end(child, kill=True)
        self._replace()

    def _replace(self) -> None:
        """Start a new child in the background, unless one is starting or we have given up (lock held)."""
        if self._closed or (self._replacement is not None and self._replacement.is_alive()):
            return
        if self.restarts >= MAX_RESTARTS:
            if not self._given_up:
                self._given_up = True
                log.error("sentence encoder process: %d new ones failed; encoding in the server process "
                          "for good", MAX_RESTARTS)
            return
        self.restarts += 1
        self._replacement = threading.Thread(target=self._start_replacement, name="encoder-process-start",
                                             daemon=True)
        self._replacement.start()

    def _start_replacement(self) -> None:
        try:
            child = self._spawn()
        except (OSError, EncoderProcessError) as exc:
            if not self._closed:  # killed by close(): no failure to report
                log.error("sentence encoder process: %s; encoding in the server process", exc)
            return
        with self._lock:
            if self._closed:
                self._end(child)
            else:
                self._child = child

    def settle(self, timeout: float = START_TIMEOUT_S + 5) -> None:
        """Wait for a replacement child being started, if any (tests; `close`)."""
        thread = self._replacement
        if thread is not None:
            thread.join(timeout)

    def _ask(self, pipes: tuple[IO[bytes], IO[bytes]], texts: list[str]) -> npt.NDArray[np.float32]:
        requests, answers = pipes
        write_frame(requests, b"T", json.dumps(texts, ensure_ascii=False).encode())
        kind, payload = read_frame(answers)
        if kind == b"E":
            raise EncoderProcessError(payload.decode("utf-8", "replace"))
        if kind != b"V" or len(payload) != len(texts) * self.dim * 4:
            raise EncoderProcessError(f"an answer of kind {kind!r} and {len(payload)} bytes for "
                                      f"{len(texts)} texts")
        return np.frombuffer(payload, dtype=np.float32).reshape(len(texts), self.dim)

    @staticmethod
    def _ask_label(pipes: tuple[IO[bytes], IO[bytes]], request: bytes) -> Classification:
        requests, answers = pipes
        write_frame(requests, b"L", request)
        return label_answer(*read_frame(answers))

    @staticmethod
    def _end(child: _Child, kill: bool = False) -> None:
        """Close the child's pipes (its loop ends with its stdin) and reap it; `kill` for a broken one
        (first: a thread reading its bulk channel meanwhile then reads the end, and the close waits for it)."""
        proc = child.proc
        if kill:
            with contextlib.suppress(OSError):
                proc.kill()
        for stream in (proc.stdin, proc.stdout, *(child.bulk or ())):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if child.ahead is not None:
            child.ahead.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop the child, and one being started (it also stops by itself when this process goes: its
        stdin ends)."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        starting = self._starting
        if starting is not None:  # a server shutting down does not wait up to a minute for its weights
            with contextlib.suppress(OSError):
                starting.kill()
        self.settle()
        if child is not None:
            self._end(child)


def _answer(kind: bytes, payload: bytes, label: Labeller | None,
            encode: Callable[[list[str]], npt.NDArray[np.float32]]) -> tuple[bytes, bytes]:
    """The child's answer to one request."""
    if kind == b"T":
        texts = json.loads(payload)
        return b"V", np.ascontiguousarray(encode(texts), dtype=np.float32).tobytes()
    if kind == b"L" and label is not None:
        request = json.loads(payload)
        context = tuple(ContextTurn(role=role, text=text) for role, text in request["context"])
        return b"C", label_json(label(request["text"], context, request["lang"]))
    return b"E", f"unknown request kind {kind!r}".encode()


def serve(stdin: IO[bytes], stdout: IO[bytes], encode: Callable[[list[str]], npt.NDArray[np.float32]],
          label: Labeller | None = None, ready: bool = True) -> None:
    """The child's loop: answer each request until stdin ends. `label` answers label requests; `ready`
    says ready first (the bulk channel's loop said it already)."""
    if ready:
        write_frame(stdout, b"R", b"")
    while True:
        try:
            kind, payload = read_frame(stdin)
        except EncoderProcessError:
            return  # the server went away
        try:
            answer = _answer(kind, payload, label, encode)
        except Exception as exc:  # an answer, not a dead child: the server falls back for this request
            answer = b"E", f"{type(exc).__name__}: {exc}".encode()
        write_frame(stdout, *answer)


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server shuts down and closes our stdin,
    # which ends the loop; dying first would only print a traceback and fail the labels still in flight.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The frames go to the real stdout; anything the encoder's libraries print goes to stderr instead.
    frames = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from trainer.spin import classifier, embed

    classifier.warm_up()  # the encoder and the model, loaded before the server is told we are ready
    encoder = embed.in_process_encoder()

    def encode(texts: list[str]) -> npt.NDArray[np.float32]:
        """The vectors, encoded as the server asked (the same batch: the same numbers), and kept for labels."""
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        embed.keep(texts, vectors)
        return vectors

    def label(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification:
        return classifier.classify_with(text, context, lang, classifier.APPROACH)

    # Ready on the side channels first: the server looks for that once stdout says ready.
    for env, name in ((AHEAD_FDS_ENV, "ahead"), (BULK_FDS_ENV, "bulk")):
        side = _side_channel(os.environ.pop(env, ""))
        if side is not None:
            write_frame(side[1], b"R", b"")
            threading.Thread(target=serve, args=(*side, encode, label, False), name=name, daemon=True).start()
    serve(sys.stdin.buffer, frames, encode, label)


def _side_channel(fds: str) -> tuple[IO[bytes], IO[bytes]] | None:
    """A side channel's pipes from `BULK_FDS_ENV` or `AHEAD_FDS_ENV` ("READ,WRITE"), None without a
    usable one."""
    try:
        read_fd, write_fd = (int(fd) for fd in fds.split(","))
        return os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    except (ValueError, OSError):
        return None


if __name__ == "__main__":
    main()
