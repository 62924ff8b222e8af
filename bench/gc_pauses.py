"""The server's garbage-collector pauses under load: a launcher for the turn benches, and its report.

Run (one server process):
  SPIN_BENCH_SERVER=bench/gc_pauses.py .venv/bin/python bench/turns.py --engine llm --trainees 200 --no-docs
  .venv/bin/python bench/gc_pauses.py --report
As the launcher, it runs `spin-trainer` with a callback on every collection and writes the pauses
(generation, milliseconds, seconds since the server was ready) to var/gc-pauses/<pid>.json when the
server stops. `SPIN_BENCH_GC_NO_FREEZE=1` serves without `trainer.app.freeze_startup_heap`, for the
figure before it; `SPIN_BENCH_GC_DEFAULT_THRESHOLD=1` freezes the heap but keeps Python's default
thresholds (the figure before `trainer.app.GC_YOUNG_THRESHOLD`). A collection stops every thread of
the process, so each pause lands on the turns in flight: a few long ones are enough to move the 95th
percentile.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import launcher_main, markdown_table

OUT = Path(__file__).resolve().parent.parent / "var" / "gc-pauses"


class Recorder:
    """Collections as (generation, ms, seconds since ready); ready is when startup froze (or would have)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float | None]] = []
        self.ready: float | None = None
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        since = None if self.ready is None else now - self.ready
        self.pauses.append((int(info["generation"]), (now - self._started) * 1000, since))

    def mark_ready(self) -> None:
        self.ready = time.perf_counter()

    def dump(self, path: Path, frozen: bool, thresholds: Callable[[], tuple[int, int, int]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"frozen": frozen, "thresholds": list(thresholds()), "pauses": self.pauses}))


def summary(pauses: list[list[Any]]) -> list[list[object]]:
    """Per generation, the pauses after the server was ready: count, total, median and longest ms."""
    rows: list[list[object]] = []
    for gen in (0, 1, 2):
        ms = sorted(p[1] for p in pauses if p[0] == gen and p[2] is not None)
        if not ms:
            rows.append([gen, 0, "-", "-", "-"])
            continue
        rows.append([gen, len(ms), f"{sum(ms):.0f}", f"{ms[len(ms) // 2]:.1f}", f"{ms[-1]:.1f}"])
    return rows


def report(files: list[Path]) -> int:
    for path in files:
        data = json.loads(path.read_text())
        thresholds = data.get("thresholds") or "?"
        print(f"{path.name}: startup heap {'frozen' if data['frozen'] else 'not frozen'}, thresholds {thresholds}")
        print(markdown_table(["generation", "collections", "total ms", "median ms", "longest ms"],
                             summary(data["pauses"])))
    return 0


def serve() -> int:
    import trainer.app
    from trainer.cli import main

    recorder = Recorder()
    gc.callbacks.append(recorder)
    freeze = os.environ.get("SPIN_BENCH_GC_NO_FREEZE") != "1"
    default_threshold = os.environ.get("SPIN_BENCH_GC_DEFAULT_THRESHOLD") == "1"
    original = trainer.app.freeze_startup_heap
    thresholds = gc.get_threshold()

    def at_ready() -> None:
        if freeze:
            original()
            if default_threshold:
                gc.set_threshold(*thresholds)
        recorder.mark_ready()

    trainer.app.freeze_startup_heap = at_ready  # looked up when the lifespan runs
    atexit.register(recorder.dump, OUT / f"{os.getpid()}.json", freeze, gc.get_threshold)
    return main()


if __name__ == "__main__":
    raise SystemExit(launcher_main("gc_pauses.py", __doc__ or "", OUT, serve, report))
