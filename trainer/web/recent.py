"""Which credentials signed in as writers lately, and the last turns of the calls they spoke in, so that
their next line reaches the encoder on arrival, and with its context, its label begins there.

A turn's label waits for its line's sentence vectors. Sent to the encoder only after the sign-in, the
encoding overlapped the call's load and little else; under load the label then waited for it, holding
one of the few database places while other turns queued for them. Sent when the request arrives, the
encoding also overlaps the wait for a place and the sign-in. An unknown caller's line is not: a stranger
could make the server encode text for nothing. This remembers which credentials signed in as writers in
this process lately; it decides only when a line is sent to the encoder, never who may write (the sign-in
in the handler still does, and a line refused there only cost the encoder's time).

With the call's last turns as this process stored them, the whole label is begun on arrival instead of
the encoding only (trainer.spin.label_ahead: why, and why a wrong guess cannot change a label).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainer.conversation import CONTEXT_TURNS
from trainer.personas.model import Persona
from trainer.spin.labels import Lang
from trainer.spin.types import ContextTurn

if TYPE_CHECKING:
    from trainer.web.deps import Credentials

#: How long a sign-in counts as recent: a trainee speaks every few seconds, a call lasts minutes.
RECENT_S = 600.0
#: Credentials remembered at most (a few MB at most; the oldest are forgotten first).
REMEMBERED = 20_000


class RecentWriters:
    """Digests of the credentials that signed in as writers within `ttl_s`, the `size` latest at most.

    Digests, not the tokens themselves: the process keeps no usable credential after the request.
    Thread-safe: the sign-in runs on worker threads, the check on the event loop.
    """

    def __init__(self, ttl_s: float = RECENT_S, size: int = REMEMBERED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or size < 1:
            raise ValueError(f"RecentWriters needs a positive time and size, not {ttl_s} s and {size}")
        self.ttl_s = ttl_s
        self.size = size
        self._clock = clock
        self._seen: OrderedDict[bytes, tuple[float, int | None]] = OrderedDict()  # digest -> when, as whom
        self._lock = threading.Lock()

    @staticmethod
    def _digest(creds: Credentials) -> bytes | None:
        key = f"t:{creds.token}" if creds.token is not None else f"c:{creds.cookie}" if creds.cookie else None
        return None if key is None else hashlib.blake2b(key.encode(), digest_size=16).digest()

    def saw(self, creds: Credentials, user_id: int | None = None) -> None:
        """`creds` just signed in as a writer (the user `user_id`)."""
        digest = self._digest(creds)
        if digest is None:
            return
        with self._lock:
            self._seen[digest] = (self._clock(), user_id)
            self._seen.move_to_end(digest)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def knows(self, creds: Credentials) -> bool:
        """Whether `creds` signed in as a writer within `ttl_s` (as far as this process saw)."""
        return self._seen_as(creds) is not None

    def writer(self, creds: Credentials) -> int | None:
        """The user `creds` signed in as, within `ttl_s` (None: not seen, or seen without one)."""
        seen = self._seen_as(creds)
        return None if seen is None else seen[1]

    def _seen_as(self, creds: Credentials) -> tuple[float, int | None] | None:
        digest = self._digest(creds)
        if digest is None:
            return None
        with self._lock:
            seen = self._seen.get(digest)
            if seen is None:
                return None
            if self._clock() - seen[0] > self.ttl_s:
                del self._seen[digest]
                return None
            return seen


#: Calls whose last turns are remembered at most (a call's context is a few hundred bytes as a rule, 16 KB
#: at worst: eight turns of 2,000 characters).
CALLS_REMEMBERED = 2_048
#: Characters of a call's whole transcript kept for its next reply's guess (`ReplyBasis`); a longer call
#: keeps its label's context only.
BASIS_CHARS = 16_000


@dataclass(frozen=True, slots=True)
class ReplyBasis:
    """What a call's next request to the model is made of, besides the line and its label, as this process
    stored the call: its persona, the director's state, the seed and the whole transcript (trainer.web.ahead)."""

    user_id: int  # whose call: only their line is answered ahead
    persona: Persona
    state: dict[str, Any]
    seed: int
    history: tuple[ContextTurn, ...]


class RecentContexts:
    """The last turns of the calls this process stored a line of lately, as the label of their next line
    reads them (the language, and `CONTEXT_TURNS` turns), the `size` latest calls at most; and, when given,
    what their next reply would be asked with (`ReplyBasis`).

    A guess, and only used as one: the next line's label is begun with it on arrival
    (`trainer.spin.classifier.label_ahead`), and the turn uses that label only if the call, once loaded,
    has exactly these turns. Another process of the server may have stored a line of the call since.
    """

    def __init__(self, size: int = CALLS_REMEMBERED) -> None:
        if size < 1:
            raise ValueError(f"RecentContexts needs room for at least one call, not {size}")
        self.size = size
        self._calls: OrderedDict[int, tuple[Lang, tuple[ContextTurn, ...], ReplyBasis | None]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, call_id: int, lang: Lang, turns: Sequence[ContextTurn],
                 basis: ReplyBasis | None = None) -> None:
        """The call `call_id` now ends with `turns` (the whole call or at least its last `CONTEXT_TURNS`);
        `basis`, if given, is what its next reply would be asked with (kept unless its transcript is past
        `BASIS_CHARS`)."""
        context = tuple(turns)[-CONTEXT_TURNS:]
        if basis is not None and sum(len(t.text) for t in basis.history) > BASIS_CHARS:
            basis = None
        with self._lock:
            self._calls[call_id] = (lang, context, basis)
            self._calls.move_to_end(call_id)
            while len(self._calls) > self.size:
                self._calls.popitem(last=False)

    def forget(self, call_id: int) -> None:
        """The call went on in a way not remembered here (a reply cut short, say): no guesses from the past."""
        with self._lock:
            self._calls.pop(call_id, None)

    def guess(self, call_id: int) -> tuple[Lang, tuple[ContextTurn, ...]] | None:
        """The language and last turns of `call_id` when this process last stored a line of it, if it did."""
        with self._lock:
            remembered = self._calls.get(call_id)
        return None if remembered is None else remembered[:2]

    def basis(self, call_id: int) -> tuple[Lang, ReplyBasis] | None:
        """The language and `ReplyBasis` of `call_id` when this process last stored a line of it, if kept."""
        with self._lock:
            remembered = self._calls.get(call_id)
        if remembered is None or remembered[2] is None:
            return None
        return remembered[0], remembered[2]
