"""Where a streamed turn waits under load: a launcher for the turn benches that marks each step, and its report.

Run (one server process, LLM engine):
  SPIN_BENCH_SERVER=bench/phases.py .venv/bin/python bench/turns.py --engine llm --trainees 200 --no-docs
  .venv/bin/python bench/phases.py --report
As the launcher, it runs `spin-trainer` with the steps of `POST /api/calls/{id}/turns/stream` wrapped
(the request reaching the app, its wait for a database place and giving it back, the sign-in lookup,
the call's load, labelling, the wait for its sentence vectors, the sentence encoder, an LLM's check of
the label, the trainee turn's write, the model asked for its reply from inside that write
(trainer.web.early), the commit, the first byte of the response, opening the model's stream, storing
the reply), each mark tagged with its request, and writes them to var/phases/<pid>.json when the server
stops. The report gives, for each pair of consecutive marks, the median and 95th percentile: a step that is
slow by itself, or a wait between two steps (a thread hop, a queue for a database place).
py-spy (`bench/turns.py --profile`) says what the CPU does; this says where a turn's time goes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import itertools
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Summary, launcher_main, markdown_table, ms, with_outermost

OUT = Path(__file__).resolve().parent.parent / "var" / "phases"
_request: contextvars.ContextVar[int] = contextvars.ContextVar("bench_request", default=0)
MARKS: list[tuple[int, str, float]] = []  # (request number, mark, time.monotonic())


def mark(name: str) -> None:
    """Record `name` for the request in this context (worker threads inherit it); outside one, nothing."""
    if rid := _request.get():
        MARKS.append((rid, name, time.monotonic()))
        if _dump is not None:
            _dump(name.encode())


CALLGRIND_SHIM = r"""
#include <valgrind/callgrind.h>
void dump_at(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def callgrind_dump() -> Callable[[bytes], None] | None:
    """With SPIN_BENCH_PHASE_DUMPS=1 (bench/instructions.py --phases, the server under callgrind): a function
    that makes callgrind dump its counters, named, so the instructions between two marks are on record.

    Python cannot issue valgrind's client request itself; a three-line C function compiled once with gcc
    and valgrind's header (Debian package valgrind) does. Outside valgrind the request does nothing.
    """
    if os.environ.get("SPIN_BENCH_PHASE_DUMPS") != "1":
        return None
    import ctypes
    import subprocess

    lib = OUT.parent / "callgrind_dump.so"
    if not lib.exists():
        lib.parent.mkdir(parents=True, exist_ok=True)
        source = lib.with_suffix(".c")
        source.write_text(CALLGRIND_SHIM)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(source)], check=True)
    fn = ctypes.CDLL(str(lib)).dump_at
    fn.argtypes = [ctypes.c_char_p]
    fn.restype = None
    return fn  # type: ignore[no-any-return]


_dump: Callable[[bytes], None] | None = None


def wrapped(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """`fn` with a mark `name<` on entry and `name>` on return (or raise)."""
    if asyncio.iscoroutinefunction(fn):
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            mark(f"{name}<")
            try:
                return await fn(*args, **kwargs)
            finally:
                mark(f"{name}>")
        return run_async

    def run(*args: Any, **kwargs: Any) -> Any:
        mark(f"{name}<")
        try:
            return fn(*args, **kwargs)
        finally:
            mark(f"{name}>")
    return run


class Marked:
    """Outermost ASGI layer: numbers each streamed turn request, marks its arrival and first body byte."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._numbers = itertools.count(1)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/turns/stream"):
            await self.app(scope, receive, send)
            return
        _request.set(next(self._numbers))
        mark("request")
        first = True

        async def send_marked(message: dict[str, Any]) -> None:
            nonlocal first
            if first and message["type"] == "http.response.body":
                first = False
                mark("first byte")
            await send(message)

        await self.app(scope, receive, send_marked)


def steps(marks: list[list[Any]]) -> list[tuple[str, str, list[float]]]:
    """For each pair of consecutive marks of a request: the milliseconds between them, over all requests."""
    by_request: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for rid, name, at in marks:
        by_request[rid].append((at, name))
    gaps: dict[tuple[str, str], list[float]] = defaultdict(list)
    for points in by_request.values():
        points.sort()
        for (t1, a), (t2, b) in itertools.pairwise(points):
            gaps[(a, b)].append((t2 - t1) * 1000)
    return sorted(((a, b, v) for (a, b), v in gaps.items()), key=lambda item: -sum(item[2]))


def report(files: list[Path]) -> int:
    for path in files:
        marks = json.loads(path.read_text())
        requests = len({m[0] for m in marks})
        rows = []
        for a, b, values in steps(marks):
            if len(values) * 5 < requests:  # a rare path (a repair, a replay): not the turn's
                continue
            s = Summary.of(values)
            rows.append([f"{a} -> {b}", s.count, ms(s.p50), ms(s.p95), f"{sum(values) / max(1, requests):.1f}"])
        print(f"{path.name}: {requests} streamed turns")
        print(markdown_table(["step", "turns", "p50 ms", "p95 ms", "mean ms per turn"], rows))
        print(tail(marks))
    return 0


def tail(marks: list[list[Any]], share: float = 0.05, until: str = "open model stream<") -> str:
    """Where the slowest `share` of turns spent their time from arrival to the model's request (`until`),
    turns whose label the model checked left out: the mean of each step among them, beside its mean over
    all turns. The p95 of each step alone does not say which steps make the slow turns slow."""
    by_request: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for rid, name, at in marks:
        by_request[rid].append((at, name))
    spans: list[tuple[float, list[tuple[str, float]]]] = []
    for points in by_request.values():
        points.sort()
        names = [name for _, name in points]
        if until not in names or names[0] != "request" or "label check<" in names:
            continue  # a label the model checked first waits for a whole reply of the fake
        head = points[:names.index(until) + 1]
        gaps = [(f"{a} -> {b}", (t2 - t1) * 1000) for (t1, a), (t2, b) in itertools.pairwise(head)]
        spans.append(((head[-1][0] - head[0][0]) * 1000, gaps))
    if not spans:
        return f"no turn reached {until!r}"
    spans.sort(key=lambda item: item[0])
    slow = spans[-max(1, round(len(spans) * share)):]

    def means(group: list[tuple[float, list[tuple[str, float]]]]) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        for _, gaps in group:
            for step, value in gaps:
                sums[step] += value
        return {step: total / len(group) for step, total in sums.items()}

    everyone, slowest = means(spans), means(slow)
    rows = [[step, f"{slowest[step]:.1f}", f"{everyone.get(step, 0.0):.1f}"]
            for step in sorted(slowest, key=lambda name: -slowest[name]) if slowest[step] >= 0.05]
    title = (f"the slowest {len(slow)} of {len(spans)} turns from arrival to {until!r} "
             f"(from {slow[0][0]:.1f} ms; all turns: median {spans[len(spans) // 2][0]:.1f} ms)")
    return title + "\n" + markdown_table(["step", "mean ms, slowest", "mean ms, all"], rows)


def serve() -> int:
    from trainer.cli import main
    from trainer.engines import sse
    from trainer.services import accounts, call_access
    from trainer.services import calls as call_service
    from trainer.spin import embed
    from trainer.spin.llm import LLMClassifier
    from trainer.web import streaming
    from trainer.web.early import EarlyReply
    from trainer.web.slots import DbSlots

    for owner, attr, name in ((DbSlots, "__aenter__", "db place"), (DbSlots, "__aexit__", "place back"),
                              (accounts, "user_for_token", "sign-in"), (call_access, "call_to_speak_in", "load call"),
                              (call_service, "classify", "label"), (embed, "_encode", "encode"),
                              (embed, "embed_many", "vectors"),
                              (LLMClassifier, "confirm", "label check"),
                              (call_service, "begin_turn", "write turn"),
                              (EarlyReply, "start", "ask model"), (EarlyReply, "guess", "guess model"),
                              (streaming, "commit_here", "commit"),
                              (sse, "aopen_stream", "open model stream"),
                              (streaming, "_store", "store reply")):
        setattr(owner, attr, wrapped(getattr(owner, attr), name))
    with_outermost(Marked)
    global _dump
    _dump = callgrind_dump()
    OUT.mkdir(parents=True, exist_ok=True)
    atexit.register(lambda: (OUT / f"{os.getpid()}.json").write_text(json.dumps(MARKS)))
    return main()


if __name__ == "__main__":
    raise SystemExit(launcher_main("phases.py", __doc__ or "", OUT, serve, report))
