"""Where the server's CPU goes, function by function: a cProfile launcher for the turn benches, and its report.

Run (one server process; few trainees, so that cProfile's own cost does not queue the turns):
  SPIN_BENCH_SERVER=bench/cprofile_server.py .venv/bin/python bench/turns.py --engine llm --trainees 10 --no-docs
  .venv/bin/python bench/cprofile_server.py --report [--top 40]
As the launcher, it runs `spin-trainer` and, from the moment the server is ready, profiles every thread:
the event loop's and each worker thread started after it (a profiler of its own each, merged at the end),
and writes the merged statistics to var/cprofile/<pid>.prof when the server stops. py-spy
(`bench/turns.py --profile`) samples the whole process under load; this counts every call, which is
what a change of a few per cent needs, and names the Python functions that callgrind's counts
(bench/instructions.py) cannot.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import pstats
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import launcher_main

OUT = Path(__file__).resolve().parent.parent / "var" / "cprofile"
SHOWN = ("trainer/", "sqlalchemy/", "starlette/", "fastapi/", "uvicorn/", "httpx2/", "httpcore2/", "openai/",
         "anyio/", "asyncio/", "h11/", "json/")


class Profiles:
    """One profiler per thread, each enabled in its own thread (cProfile profiles the thread that enables it)."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def start_here(self) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self.profiles.append(profile)
        profile.enable()

    def _in_new_thread(self, _frame: Any, _event: str, _arg: Any) -> None:
        self.start_here()  # replaces this hook for the thread with the profiler's own

    def start(self) -> None:
        threading.setprofile(self._in_new_thread)
        self.start_here()

    def dump(self, path: Path) -> None:
        for profile in self.profiles:
            profile.disable()  # stops the one of this thread; the others' data is read as it stands
        if not self.profiles:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        stats.dump_stats(str(path))


def _where(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    for part in SHOWN:
        at = filename.find(part)
        if at >= 0:
            return f"{filename[at:]}:{line} {name}"
    return f"{Path(filename).name}:{line} {name}"


TOP = [40]  # rows per table; `--report --top N` sets it


def report(files: list[Path]) -> int:
    top = TOP[0]
    stats = pstats.Stats(str(files[-1]))
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in entries.values())
    print(f"{files[-1].name}: {total:.2f} s of profiled time in all threads")
    for title, key in (("own time (tottime)", 2), ("with callees (cumtime), project code", 3)):
        print(f"\n{title}:\n  share   calls  seconds  function")
        rows = sorted(entries.items(), key=lambda item: item[1][key], reverse=True)
        shown = 0
        for func, (_cc, calls, tt, ct, _callers) in rows:
            if key == 3 and "trainer/" not in func[0]:
                continue
            value = tt if key == 2 else ct
            print(f"  {100 * value / total:5.1f}% {calls:7d} {value:8.3f}  {_where(func)}")
            shown += 1
            if shown >= top:
                break
    return 0


def serve() -> int:
    import trainer.app
    from trainer.cli import main

    profiles = Profiles()
    original = trainer.app.freeze_startup_heap

    def at_ready() -> None:
        original()
        profiles.start()

    trainer.app.freeze_startup_heap = at_ready  # looked up when the lifespan runs, in the event loop's thread
    atexit.register(profiles.dump, OUT / f"{os.getpid()}.prof")
    return main()


if __name__ == "__main__":
    if sys.argv[1:3] == ["--report", "--top"] and len(sys.argv) == 4:
        TOP[0] = int(sys.argv.pop())
        sys.argv.pop()
    raise SystemExit(launcher_main("cprofile_server.py", __doc__ or "", OUT, serve, report, "*.prof"))
