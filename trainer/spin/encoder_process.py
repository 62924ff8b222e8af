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
                   b"V" + float32 vectors (len(texts) x DIM), b"C" + JSON label (`_label_json`),
                   or b"E" + UTF-8 message
A child that dies or answers garbage is replaced in the background; meanwhile, and for good after
`MAX_RESTARTS` replacements, this process encodes and labels in-process: a label never fails or waits for
a child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt

from trainer.spin.labels import Label, Lang
from trainer.spin.types import Classification, ContextTurn, Segment

log = logging.getLogger("trainer")

_HEADER = struct.Struct("!cI")
#: Replacements of a dead child before this process keeps encoding by itself.
MAX_RESTARTS = 3
#: Seconds a new child may take to load the encoder and say it is ready.
START_TIMEOUT_S = 60.0


_T = TypeVar("_T")
Labeller = Callable[[str, Sequence[ContextTurn], "Lang | None"], Classification]


class EncoderProcessError(RuntimeError):
    """The child failed: it died, timed out or answered something unreadable."""


class LabelRefused(EncoderProcessError):
    """The child is well but its classifier raised on this line (it says why): the line is labelled here."""


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EncoderProcessError(f"the encoder process closed its pipe ({len(data or b'')} of {size} bytes read)")
    return data


def _read_frame(stream: IO[bytes]) -> tuple[bytes, bytes]:
    kind, size = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    return kind, _read_exact(stream, size) if size else b""


def _write_frame(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    stream.write(_HEADER.pack(kind, len(payload)) + payload)
    stream.flush()


class EncoderProcess:
    """An encoder (`encode(list[str]) -> (n, dim) float32`) whose work runs in a child process.

    One request at a time (the child encodes on one thread anyway); thread-safe. `fallback` makes the
    in-process encoder used while the child is down; `command` is the child's command line (tests).
    A dead child is replaced on a thread of its own, so no label waits the second a new child takes
    to load its weights: labels are encoded in this process until it is ready.
    """

    def __init__(self, dim: int, fallback: Callable[[], Any],
                 command: Sequence[str] = (sys.executable, "-m", "trainer.spin.encoder_process")) -> None:
        self.dim = dim
        self.restarts = 0
        self._fallback = fallback
        self._command = list(command)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._replacement: threading.Thread | None = None
        self._closed = False
        self._given_up = False
        self._starting: subprocess.Popen[bytes] | None = None  # a replacement loading its weights

    def start(self) -> None:
        """Start the child and wait until its weights are loaded (about a second)."""
        proc = self._spawn()
        with self._lock:
            self._proc = proc

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        self._starting = proc  # close() kills it rather than wait for its weights
        if self._closed:  # close() came between the start and the line above
            proc.kill()
        timer = threading.Timer(START_TIMEOUT_S, proc.kill)  # a child stuck loading: the read below ends
        timer.start()
        try:
            kind, payload = _read_frame(proc.stdout)
        except EncoderProcessError:
            self._end(proc, kill=True)
            raise EncoderProcessError(f"the encoder process did not start (exit code {proc.returncode}); "
                                      "its error is in the server's log") from None
        finally:
            timer.cancel()
            self._starting = None
        if kind != b"R":
            self._end(proc, kill=True)
            raise EncoderProcessError(f"the encoder process answered {kind!r} instead of ready: "
                                      f"{payload[:200].decode('utf-8', 'replace')}")
        return proc

    @property
    def pid(self) -> int | None:
        """The child's process id, None while there is none (for tests and metrics)."""
        proc = self._proc
        return proc.pid if proc is not None else None

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of `texts`, from the child; from this process while the child is down."""
        texts = list(texts)
        vectors = self._asking(lambda proc: self._ask(proc, texts), "encoded")
        if vectors is not None:
            return vectors
        return np.asarray(self._fallback().encode(texts), dtype=np.float32)

    def classify(self, text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
        """The label of a trainee line (`trainer.spin.classifier.classify_with`, the shipped approach) worked
        out in the child; None while the child is down or when its classifier failed on the line: the caller
        labels it in this process."""
        # ASCII JSON: a line may hold an unpaired surrogate, which UTF-8 cannot carry (trainer.textcheck)
        request = json.dumps({"text": text, "context": [[turn.role, turn.text] for turn in context], "lang": lang}
                             ).encode()
        return self._asking(lambda proc: self._ask_label(proc, request), "labelled")

    def _asking(self, ask: Callable[[subprocess.Popen[bytes]], _T], done_here: str) -> _T | None:
        """`ask(child)`, or None when there is no child or it failed (then it is dropped and replaced)."""
        with self._lock:
            proc = self._proc
            if proc is not None:
                try:
                    return ask(proc)
                except LabelRefused as exc:
                    log.error("sentence encoder process: the classifier failed (%s); this line is labelled in "
                              "the server process", exc)
                    return None
                except (OSError, EncoderProcessError) as exc:
                    log.error("sentence encoder process failed (%s); this line is %s in the server process "
                              "while a new one starts", exc, done_here)
                    self._proc = None
                    self._end(proc, kill=True)
            self._replace()
        return None

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
            proc = self._spawn()
        except (OSError, EncoderProcessError) as exc:
            if not self._closed:  # killed by close(): no failure to report
                log.error("sentence encoder process: %s; encoding in the server process", exc)
            return
        with self._lock:
            if self._closed:
                self._end(proc)
            else:
                self._proc = proc

    def settle(self, timeout: float = START_TIMEOUT_S + 5) -> None:
        """Wait for a replacement child being started, if any (tests; `close`)."""
        thread = self._replacement
        if thread is not None:
            thread.join(timeout)

    def _ask(self, proc: subprocess.Popen[bytes], texts: list[str]) -> npt.NDArray[np.float32]:
        assert proc.stdin is not None and proc.stdout is not None
        _write_frame(proc.stdin, b"T", json.dumps(texts, ensure_ascii=False).encode())
        kind, payload = _read_frame(proc.stdout)
        if kind == b"E":
            raise EncoderProcessError(payload.decode("utf-8", "replace"))
        if kind != b"V" or len(payload) != len(texts) * self.dim * 4:
            raise EncoderProcessError(f"an answer of kind {kind!r} and {len(payload)} bytes for "
                                      f"{len(texts)} texts")
        return np.frombuffer(payload, dtype=np.float32).reshape(len(texts), self.dim)

    @staticmethod
    def _ask_label(proc: subprocess.Popen[bytes], request: bytes) -> Classification:
        assert proc.stdin is not None and proc.stdout is not None
        _write_frame(proc.stdin, b"L", request)
        kind, payload = _read_frame(proc.stdout)
        if kind == b"E":
            raise LabelRefused(payload.decode("utf-8", "replace"))
        if kind != b"C":
            raise EncoderProcessError(f"an answer of kind {kind!r} to a label request")
        try:
            return _label_from_json(payload)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise EncoderProcessError(f"an unreadable label ({type(exc).__name__}: {exc})") from None

    @staticmethod
    def _end(proc: subprocess.Popen[bytes], kill: bool = False) -> None:
        """Close the child's pipes (its loop ends with its stdin) and reap it; `kill` for a broken one."""
        if kill:
            with contextlib.suppress(OSError):
                proc.kill()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
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
            proc, self._proc = self._proc, None
        starting = self._starting
        if starting is not None:  # a server shutting down does not wait up to a minute for its weights
            with contextlib.suppress(OSError):
                starting.kill()
        self.settle()
        if proc is not None:
            self._end(proc)


def _label_json(result: Classification) -> bytes:
    """A label on the wire: every field, confidences unrounded (JSON gives a float back exactly)."""
    segments = [[seg.text, seg.label.value, seg.confidence, seg.reason] for seg in result.segments]
    return json.dumps([result.label.value, result.confidence, result.reason, result.lang, segments]).encode()


def _label_from_json(payload: bytes) -> Classification:
    label, confidence, reason, lang, segments = json.loads(payload)
    if lang not in ("ru", "en"):
        raise ValueError(f"language {lang!r}")
    return Classification(Label(label), float(confidence), str(reason), lang,
                          tuple(Segment(str(text), Label(seg_label), float(conf), str(why))
                                for text, seg_label, conf, why in segments))


def _answer(kind: bytes, payload: bytes, label: Labeller | None,
            encode: Callable[[list[str]], npt.NDArray[np.float32]]) -> tuple[bytes, bytes]:
    """The child's answer to one request."""
    if kind == b"T":
        texts = json.loads(payload)
        return b"V", np.ascontiguousarray(encode(texts), dtype=np.float32).tobytes()
    if kind == b"L" and label is not None:
        request = json.loads(payload)
        context = tuple(ContextTurn(role=role, text=text) for role, text in request["context"])
        return b"C", _label_json(label(request["text"], context, request["lang"]))
    return b"E", f"unknown request kind {kind!r}".encode()


def serve(stdin: IO[bytes], stdout: IO[bytes], encode: Callable[[list[str]], npt.NDArray[np.float32]],
          label: Labeller | None = None) -> None:
    """The child's loop: answer each request until stdin ends. `label` answers label requests."""
    _write_frame(stdout, b"R", b"")
    while True:
        try:
            kind, payload = _read_frame(stdin)
        except EncoderProcessError:
            return  # the server went away
        try:
            answer = _answer(kind, payload, label, encode)
        except Exception as exc:  # an answer, not a dead child: the server falls back for this request
            answer = b"E", f"{type(exc).__name__}: {exc}".encode()
        _write_frame(stdout, *answer)


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

    serve(sys.stdin.buffer, frames, encode,
          lambda text, context, lang: classifier.classify_with(text, context, lang, classifier.APPROACH))


if __name__ == "__main__":
    main()
