"""How long SQLite's single writer's place is waited for and held, per route: a launcher for the turn benches.

Run (one server process, SQLite):
  SPIN_BENCH_SERVER=bench/gate_holds.py .venv/bin/python bench/turns.py --engine llm --db sqlite --no-docs
  .venv/bin/python bench/gate_holds.py --report
As the launcher, it runs `spin-trainer` with `trainer.db.gate.WriterGate` timed: for every transaction
that takes the writer's place, the milliseconds it waited for it and held it, tagged with the route of
the request it ran for (or "-" outside one: a reply stored after the response began), written to
var/gate-holds/<pid>.json when the server stops. Every SQLite writer of every server process queues
behind the one holding the place, so the report's "held ms per s" is the share of time the database
accepts no other write: what a request holding it for long costs everybody else's turn.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Summary, launcher_main, markdown_table, ms, with_outermost

OUT = Path(__file__).resolve().parent.parent / "var" / "gate-holds"
_route: contextvars.ContextVar[str] = contextvars.ContextVar("bench_route", default="-")
HOLDS: list[tuple[str, float, float, float]] = []  # (route, waited ms, held ms, time.monotonic() at release)
_started: dict[int, tuple[str, float, float]] = {}  # id of the connection's info -> (route, asked at, got at)
_guard = threading.Lock()


class Routed:
    """Outermost ASGI layer: tags the request's context (worker threads inherit it) with its route."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            _route.set(f"{scope['method']} {route_of(scope['path'])}")
        await self.app(scope, receive, send)


def route_of(path: str) -> str:
    """The path with its numbers as `{id}`: one row per route, not per call."""
    return "/".join("{id}" if part.isdigit() else part for part in path.split("/"))


def report(files: list[Path]) -> int:
    for path in files:
        data = json.loads(path.read_text())
        holds = data["holds"]
        span = max(1e-9, data["span_s"])
        by_route: dict[str, list[list[Any]]] = defaultdict(list)
        for hold in holds:
            by_route[hold[0]].append(hold)
        rows = []
        for route, items in sorted(by_route.items(), key=lambda kv: -sum(h[2] for h in kv[1])):
            waited, held = Summary.of([h[1] for h in items]), Summary.of([h[2] for h in items])
            rows.append([route, len(items), ms(waited.p50), ms(waited.p95), ms(held.p50), ms(held.p95),
                         ms(held.max), f"{sum(h[2] for h in items) / span:.0f}"])
        print(f"{path.name}: {len(holds)} transactions holding the writer's place in {span:.0f} s")
        print(markdown_table(["route", "transactions", "waited p50 ms", "waited p95 ms", "held p50 ms",
                              "held p95 ms", "held max ms", "held ms per s"], rows))
    return 0


def serve() -> int:
    from trainer.cli import main
    from trainer.db.gate import WriterGate

    acquire, release = WriterGate._acquire, WriterGate._release

    def timed_acquire(self: WriterGate, info: dict[str, Any]) -> None:
        asked = time.monotonic()
        acquire(self, info)
        with _guard:
            _started[id(info)] = (_route.get(), asked, time.monotonic())

    def timed_release(self: WriterGate, info: dict[str, Any]) -> None:
        holding = bool(info.get("spin_writer_gate"))
        release(self, info)
        if holding:
            now = time.monotonic()
            with _guard:
                begun = _started.pop(id(info), None)
            if begun is not None:
                route, asked, got = begun
                HOLDS.append((route, (got - asked) * 1000, (now - got) * 1000, now))

    WriterGate._acquire = timed_acquire  # type: ignore[method-assign]
    WriterGate._release = timed_release  # type: ignore[method-assign]
    with_outermost(Routed)

    def dump() -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        span = HOLDS[-1][3] - HOLDS[0][3] if len(HOLDS) > 1 else 0.0
        (OUT / f"{os.getpid()}.json").write_text(json.dumps({"span_s": span, "holds": HOLDS}))

    atexit.register(dump)
    return main()


if __name__ == "__main__":
    raise SystemExit(launcher_main("gate_holds.py", __doc__ or "", OUT, serve, report))
