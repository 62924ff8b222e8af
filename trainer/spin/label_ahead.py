"""Labels begun before their turn is loaded, for the turn that then asks with the same line and context.

Why: a turn's label (worked out in the encoder's child process, trainer.spin.encoder_process) waited for
the sign-in and the call's load, then held one of the request's few database places while the child
answered: about 1.5 ms at the median and 5 ms at the 95th percentile under load, on the path before the
model is asked. The line is known when the request arrives, and so, nearly always, is its context: the
call's last turns as this process stored them a few seconds earlier (trainer.web.recent.RecentContexts).
Started then, the label is worked out in the child while the server signs the trainee in and loads the
call: asked from the event loop on a channel of the child's own where it can be (`soon`,
trainer.spin.encoder_ahead), else from a thread of its own.

A label is a pure function of the line, its context and the language, so the guess cannot change a
label: `__call__` uses a label begun ahead only when all three are exactly what the turn asks with, and
otherwise labels as before. A guess that turns out wrong (the call went on in another server process)
costs the child's time only; so does a line the turn then refuses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn

Labeller = Callable[[str, Sequence[ContextTurn], "Lang | None"], "Classification | None"]
Key = tuple[str, tuple[ContextTurn, ...], "Lang | None"]
Soon = Callable[[str, Sequence[ContextTurn], "Lang | None"], "Future[Classification | None] | None"]

#: Labels begun ahead and kept until their turn asks; beyond this the oldest are dropped (a server has at
#: most one turn of each call in flight, and a guess nobody asks for must not stay for ever).
KEPT = 512
#: Seconds a turn waits for a label under way before it labels the line itself: labels take milliseconds,
#: and one whose answer can no longer come (its reader stopped) must not hold the turn.
WAIT_S = 10.0


class LabelsAhead:
    """`labeller` (answers None when it cannot label), with labels begun ahead by `start` and kept by key.

    Thread-safe: `start` runs on the event loop or a worker thread, `__call__` on the turn's worker thread.
    The labels begun ahead run one at a time on one thread: the child answers one request at a time anyway.
    """

    def __init__(self, labeller: Labeller, kept: int = KEPT, soon: Soon | None = None) -> None:
        if kept < 1:
            raise ValueError(f"LabelsAhead needs room for at least one label, not {kept}")
        self.labeller = labeller
        self.soon = soon  # begins a label without a thread of ours, when it can (on the event loop)
        self.kept = kept
        self.begun = 0  # labels begun ahead (for tests)
        self.hits = 0  # turns that took their label from one begun ahead (one not started yet is cancelled)
        self._lock = threading.Lock()
        self._ahead: OrderedDict[Key, Future[Classification | None]] = OrderedDict()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def start(self, text: str, context: Sequence[ContextTurn], lang: Lang | None
              ) -> Future[Classification | None] | None:
        """Begin labelling `text` in `context` and return at once; the same line and context asked again
        soon is answered from it. The label to come (None: closed), for a caller that acts on it first
        (trainer.web.ahead); it is cancelled if the turn asks before it has begun."""
        key: Key = (text, tuple(context), lang)
        with self._lock:
            if self._closed:
                return None
            begun = self._ahead.get(key)
            if begun is not None:
                return begun
            if self.soon is not None:  # asked from the event loop, answered there (trainer.spin.encoder_ahead)
                begun = self.soon(text, key[1], lang)
            if begun is None:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="label-ahead")
                begun = self._executor.submit(self.labeller, text, key[1], lang)
            self._ahead[key] = begun
            self.begun += 1
            while len(self._ahead) > self.kept:
                _, dropped = self._ahead.popitem(last=False)
                dropped.cancel()
            return begun

    def __call__(self, text: str, context: Sequence[ContextTurn], lang: Lang | None) -> Classification | None:
        """The label begun ahead for exactly this line, context and language, else `labeller`'s."""
        with self._lock:
            begun = self._ahead.pop((text, tuple(context), lang), None)
        if begun is not None and not begun.cancel():  # running or done: its answer is this line's label
            try:
                result = begun.result(timeout=WAIT_S)
            except Exception:  # closed meanwhile, timed out, or the labeller raised: asked again below
                result = None
            if result is not None:
                self.hits += 1
                return result
        return self.labeller(text, context, lang)

    @property
    def waiting(self) -> int:
        """Labels begun ahead that no turn has asked for yet (tests)."""
        with self._lock:
            return len(self._ahead)

    def close(self) -> None:
        """Drop what was begun ahead and stop the thread (a label asked later goes to `labeller`)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            self._ahead.clear()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
