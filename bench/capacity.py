"""Capacity: the highest rate of turns per second the server sustains with p95 <= 100 ms (scripted
engine), and the same ramp against a bare FastAPI JSON echo (bench/echo_app.py) as the ceiling.

Run: `.venv/bin/python bench/capacity.py [--db sqlite|postgresql|both] [--workers 1,2] [--label before]`.
Open loop: turns are sent at a steady offered rate whatever the answers do, and each latency is
counted from the moment the turn was due (so a server that falls behind shows it). The rate climbs by
`--factor` every `--step` seconds until two steps in a row miss p95 <= 100 ms, have an error, or complete
fewer than 95 % of its turns; the highest step that passed is the capacity. Turns rotate over
`--slots` trainees, each in a call with the SPIN trainee's lines; a call that ends is hung up and
a new one started (those requests load the server too but are not counted as turns). Both servers
run with the same number of uvicorn worker processes (`--workers`), the same log level and no access
log, the load generator in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    VENV_BIN,
    Script,
    Summary,
    arrival_times,
    bench_database,
    command_line,
    counts,
    free_port,
    markdown_table,
    ms,
    prepare_accounts,
    ramp,
    serve,
    spawn,
    spin_scripts,
    verdict,
    write_section,
)
from wire import Connection, WireError

P95_LIMIT_MS = 100.0
TARGET_TURNS_PER_S = 100.0


@dataclass
class Slot:
    token: str
    index: int
    call_id: int = 0
    script: Script | None = None
    line: int = 0
    calls: int = 0


@dataclass
class Step:
    offered: float
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    starved: int = 0  # due turns with no idle trainee to send them

    @property
    def p95(self) -> float:
        return Summary.of(self.latencies).p95

    def passed(self) -> bool:
        return (self.errors == 0 and self.starved == 0 and len(self.latencies) >= 0.95 * self.sent
                and self.p95 <= P95_LIMIT_MS)


class Target:
    """What one turn is: a real turn in a call, or an echo."""

    def __init__(self, base: str, slots: list[Slot], scripts: tuple[Script, ...], echo: bool):
        self.conns = {slot.index: Connection(base, {"Authorization": f"Bearer {slot.token}"}, timeout=60)
                      for slot in slots}
        self.scripts = scripts
        self.echo = echo
        self.idle: deque[Slot] = deque(slots)

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()

    async def open(self, slot: Slot) -> None:
        if self.echo:
            slot.script = self.scripts[slot.index % len(self.scripts)]
            return
        slot.script = self.scripts[(slot.index + slot.calls) % len(self.scripts)]
        slot.calls += 1
        slot.line = 0
        res = await self.conns[slot.index].request("POST", "/api/calls", {"persona": slot.script.persona,
                                                                          "lang": slot.script.lang})
        if res.status != 201:
            raise WireError(f"start: {res.status} {res.body[:80]!r}")
        slot.call_id = res.json()["id"]

    async def turn(self, slot: Slot, due: float, step: Step) -> None:
        assert slot.script is not None
        text = slot.script.lines[slot.line % len(slot.script.lines)]
        conn = self.conns[slot.index]
        try:
            path = "/echo" if self.echo else f"/api/calls/{slot.call_id}/turns"
            res = await conn.request("POST", path, {"text": text})
            if res.status != 200:
                step.errors += 1
                step.kinds[f"{res.status} {res.body[:80]!r}"] += 1
                ended = True
            else:
                step.latencies.append((time.monotonic() - due) * 1000)
                ended = bool(res.json().get("ended"))
            slot.line += 1
            if not self.echo and (ended or slot.line >= len(slot.script.lines)):
                if not ended:
                    await conn.request("POST", f"/api/calls/{slot.call_id}/end")
                await self.open(slot)
        except WireError as exc:
            step.errors += 1
            step.kinds[exc.kind] += 1
            await asyncio.sleep(0.5)
            await self.open(slot)
        finally:
            self.idle.append(slot)

    async def step(self, rate: float, seconds: float) -> Step:
        step = Step(offered=rate)
        tasks = []
        start = time.monotonic()
        for at in arrival_times(rate, seconds):
            due = start + at
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            step.sent += 1
            if not self.idle:
                step.starved += 1
                continue
            tasks.append(asyncio.create_task(self.turn(self.idle.popleft(), due, step)))
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        return step


async def ramp_up(base: str, tokens: list[str], echo: bool, rates: list[float], seconds: float) -> list[Step]:
    scripts = spin_scripts()
    slots = [Slot(token, i) for i, token in enumerate(tokens)]
    target = Target(base, slots, scripts, echo)
    try:
        for i in range(0, len(slots), 20):
            await asyncio.gather(*(target.open(s) for s in slots[i:i + 20]))
        await target.step(20, 2)  # warm-up, not counted
        steps = []
        for rate in rates:
            result = await target.step(rate, seconds)
            steps.append(result)
            print(f"   {'echo' if echo else 'app '} offered {rate:6.0f}/s: done {len(result.latencies):5d}/"
                  f"{result.sent:<5d} p50 {ms(Summary.of(result.latencies).p50):>7} p95 {ms(result.p95):>7} ms, "
                  f"errors {result.errors}, starved {result.starved}: {'ok' if result.passed() else 'over'}",
                  flush=True)
            for kind, count in result.kinds.most_common(3):
                print(f"      {count} x {kind}", flush=True)
            if not result.passed() and len(steps) >= 2 and not steps[-2].passed():
                break  # two misses in a row: one alone may be a neighbour's burst on a shared machine
            await asyncio.sleep(0.5)
        return steps
    finally:
        target.close()


def capacity(steps: list[Step]) -> Step | None:
    """The highest offered rate that passed (a single miss below it is forgiven)."""
    passed = [s for s in steps if s.passed()]
    return max(passed, key=lambda s: s.offered) if passed else None


def run_app(args: argparse.Namespace, db: str, workers: int) -> list[Step]:
    with tempfile.TemporaryDirectory(prefix="spin-cap-") as tmp, bench_database(db, Path(tmp)) as url:
        tokens = prepare_accounts(url, args.slots)
        server = serve(Path(tmp), url, engine="scripted", workers=workers)
        try:
            return asyncio.run(ramp_up(server.base, tokens, False, ramp(args.start, args.factor, args.max),
                                       args.step))
        finally:
            server.stop()


def run_echo(args: argparse.Namespace, workers: int) -> list[Step]:
    with tempfile.TemporaryDirectory(prefix="spin-echo-") as tmp:
        port = free_port()
        cmd = [str(VENV_BIN / "python"), "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "echo_app:app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "info", "--no-access-log",
               "--workers", str(workers)]
        server = spawn(cmd, {}, port, "/healthz", Path(tmp) / "echo.log")
        try:
            tokens = [f"echo-{i}" for i in range(args.slots)]
            return asyncio.run(ramp_up(server.base, tokens, True, ramp(args.start, args.factor, args.max),
                                       args.step))
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--step", type=float, default=4.0, help="seconds per offered rate")
    parser.add_argument("--start", type=float, default=30.0, help="first offered rate, turns/s")
    parser.add_argument("--factor", type=float, default=1.1, help="each step offers this much more")
    parser.add_argument("--max", type=float, default=3000.0, help="highest rate to try")
    parser.add_argument("--slots", type=int, default=300, help="trainees the turns rotate over")
    parser.add_argument("--label", default="latest", help="docs section label, e.g. before or after")
    parser.add_argument("--workers", type=counts, default=[1, 2],
                        help="comma-separated worker process counts; the echo is served with the same count")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    rows = []
    for workers in args.workers:
        print(f"-- echo ceiling (bench/echo_app.py), {workers} worker(s)", flush=True)
        echo = capacity(run_echo(args, workers))
        ceiling = echo.offered if echo else 0.0
        for db in dbs:
            print(f"-- spin-trainer serve --workers {workers}, scripted engine, {db}", flush=True)
            best = capacity(run_app(args, db, workers))
            rate = best.offered if best else 0.0
            rows.append([db, workers, f"{rate:.0f}", ms(best.p95) if best else "-", f"{ceiling:.0f}",
                         ms(echo.p95) if echo else "-", f"{rate / ceiling:.2f}" if ceiling else "-",
                         f">= {TARGET_TURNS_PER_S:g}/s: {verdict(rate, TARGET_TURNS_PER_S, at_most=False)}"])
    headers = ["db", "workers", "app turns/s", "app p95 ms", "echo req/s", "echo p95 ms", "app / echo", "target"]
    body = markdown_table(headers, rows)
    body += (f"\n\nOpen loop, p95 <= {P95_LIMIT_MS:g} ms counted from each turn's due time; steps of {args.step:g} s, "
             f"x{args.factor:g} from {args.start:g}/s; {args.slots} trainees; server and load generator share the "
             "machine's cores.")
    print()
    print(body)
    if not args.no_docs:
        write_section(f"capacity-{args.db}-{args.label}", f"Capacity, scripted engine, {args.db} ({args.label})",
                      command_line(), body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
