"""Instructions the server spends on each step of a call, counted by valgrind's callgrind.

Run: `.venv/bin/python bench/instructions.py [--db sqlite|postgresql|both] [--engine llm|scripted]
[--calls 6] [--ref COMMIT] [--label after] [--no-docs]`

Why: on these shared machines the timing benches vary two- to fivefold within an hour, so a change
worth a millisecond a turn is lost in their noise, even in alternating runs (bench/ab.py). Callgrind
counts the instructions the server's process executes, which do not depend on what else the
machine is doing: the same code and the same requests give nearly the same count on every run. Less
CPU a turn is what the latency targets at 200 trainees need (a process's GIL is the queue there).

How: `spin-trainer serve` runs under `valgrind --tool=callgrind --instr-atstart=no` (its encoder
process, the fake LLM, the database server and this client are not counted). After an untimed warm-up,
the counters are switched on and one trainee makes `--calls` calls back to back: start, the script's
lines one by one (streamed turns for the LLM engine, with each line said its own way so no sentence
vector is cached), hang-up; the counters are dumped and zeroed after every step. The table gives, per
kind of step, the mean, median, min and max in millions of instructions. The dumps stay in
`var/instructions/` for `callgrind_annotate` (C-level functions of the interpreter and its libraries).
The fake LLM streams 1 s replies as in bench/turns.py; the server's idle ticks while it waits are
counted too (a fraction of a percent). The warm-up plays the same calls once with other words, so the
counts are those of a server that has met these personas before (the first time a persona's later
states are reached fills caches once per process). `--ref COMMIT` serves that commit from a git
worktree, for a before/after of code with nothing else changed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ab import served_from
from common import (
    ROOT,
    Process,
    Script,
    bench_database,
    command_line,
    machine,
    markdown_table,
    prepare_accounts,
    serve,
    spin_scripts,
    unique_line,
    write_section,
)
from turns import fake_llm, warm_up
from wire import Connection, sse_events

OUT = ROOT / "var" / "instructions"


class Counters:
    """callgrind's counters in one running server: switch them on, then dump (and zero) them step by step."""

    def __init__(self, pid: int, out_dir: Path) -> None:
        self.pid, self.out_dir, self.dumps = pid, out_dir, 0

    def _control(self, *args: str) -> None:
        done = subprocess.run(["callgrind_control", *args, str(self.pid)], capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0 or "OK" not in done.stdout:
            raise RuntimeError(f"callgrind_control {' '.join(args)} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._control("--instr=on")
        self.take("before")

    def take(self, step: str) -> int:
        """Instructions since the last dump (the counters start again from zero). With `--phases` the
        server dumps at each of its marks too: the step is then the sum of every dump since the last."""
        self._control(f"--dump={step}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            dumps = parts(self.out_dir, self.pid, after=self.dumps)
            if dumps and dumps[-1][1] == f"dump {step}" and dumps[-1][2] is not None:
                self.dumps = dumps[-1][0]
                return sum(total or 0 for _, _, total in dumps)
            time.sleep(0.05)
        raise RuntimeError(f"callgrind wrote no dump 'dump {step}' in {self.out_dir} within 60 s")


def parts(out_dir: Path, pid: int, after: int = 0) -> list[tuple[int, str, int | None]]:
    """The server's dumps numbered above `after`, in order: (part number, its trigger, its instructions or
    None while unwritten)."""
    found = []
    for path in out_dir.glob(f"callgrind.out.{pid}.*"):
        number = path.name.rsplit(".", 1)[1]
        if number.isdigit() and int(number) > after:
            found.append((int(number), read_trigger(path), read_totals(path)))
    return sorted(found)


def read_trigger(path: Path) -> str:
    """What made callgrind write a dump: `dump <step>` for ours, `Client Request: <mark>` for a phase mark."""
    with path.open(errors="replace") as lines:
        for line in lines:
            if line.startswith("desc: Trigger:"):
                return line.split(":", 2)[2].strip()
            if line.startswith("fn=") or line.startswith("totals:"):
                break
    return ""


def read_totals(path: Path) -> int | None:
    """The instructions a callgrind dump counted (its `totals:` line), or None while it is not written."""
    if not path.exists():
        return None
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    return None


async def _streamed_turn(conn: Connection, call_id: int, text: str) -> bool:
    status, body = await conn.stream("POST", f"/api/calls/{call_id}/turns/stream", {"text": text})
    done: dict[str, Any] | None = None
    async for event, data in sse_events(body):
        if event == "done":
            done = json.loads(data)
        elif event == "error":
            raise RuntimeError(f"turn {text!r}: the server sent an error event: {data!r}")
    if status != 200 or done is None:
        raise RuntimeError(f"turn {text!r}: status {status}, done event {'seen' if done else 'missing'}")
    notice = (done.get("client") or {}).get("notice")
    if notice:  # the model's path was not measured: the scripted line stood in for its reply
        raise RuntimeError(f"turn {text!r}: the reply was replaced ({notice}); see the server log in "
                           "var/bench-logs/")
    return bool(done.get("ended"))


async def _plain_turn(conn: Connection, call_id: int, text: str) -> bool:
    res = await conn.request("POST", f"/api/calls/{call_id}/turns", {"text": text})
    if res.status != 200:
        raise RuntimeError(f"turn {text!r}: status {res.status}: {res.body[:300]!r}")
    return bool(res.json().get("ended"))


async def calls(base: str, token: str, scripts: list[Script], stream: bool, counters: Counters | None
                ) -> dict[str, list[int]]:
    """Each script as one call, step by step; the instructions of each step by its kind (none: a warm-up)."""
    conn = Connection(base, {"Authorization": f"Bearer {token}"}, timeout=600)
    steps: dict[str, list[int]] = defaultdict(list)

    def took(kind: str, what: str = "") -> None:
        if counters is not None:
            steps[kind].append(counters.take(kind))
            print(f"  {kind:<14} {steps[kind][-1] / 1e6:7.1f} M  {what}", flush=True)

    try:
        for number, script in enumerate(scripts):
            res = await conn.request("POST", "/api/calls", {"persona": script.persona, "lang": script.lang})
            if res.status != 201:
                raise RuntimeError(f"call start: status {res.status}: {res.body[:300]!r}")
            took("call start", f"{script.persona} ({script.lang})")
            call_id = res.json()["id"]
            ended = False
            for line in script.lines:
                text = unique_line(line, script.lang, number + (1000 if counters is None else 0))
                ended = await (_streamed_turn if stream else _plain_turn)(conn, call_id, text)
                took("streamed turn" if stream else "turn", text[:60])
                if ended:
                    break
            if not ended:
                res = await conn.request("POST", f"/api/calls/{call_id}/end")
                if res.status != 200:
                    raise RuntimeError(f"hang-up: status {res.status}: {res.body[:300]!r}")
                took("hang-up")
    finally:
        conn.close()
    return steps


def one_run(args: argparse.Namespace, db: str, extra_env: dict[str, str]
            ) -> tuple[dict[str, list[int]], list[list[object]]]:
    """The instructions of each step by its kind, and with `--phases` the rows of the split by marks."""
    chosen = [s for s in spin_scripts() if len(s.lines) >= 6][:args.calls]
    with tempfile.TemporaryDirectory(prefix="spin-instr-") as tmp:
        data_dir = Path(tmp)
        out_dir = OUT / f"{args.label}-{db}-{args.engine}"  # runs of other labels may go on at once
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("callgrind.out.*"):
            old.unlink()
        with bench_database(db, data_dir) as url:
            tokens = prepare_accounts(url, 1)
            fake = fake_llm(args, data_dir) if args.engine == "llm" else None
            env = {"PYTHONHASHSEED": "0", **extra_env}
            if args.phases:
                env["SPIN_BENCH_PHASE_DUMPS"] = "1"
            if fake is not None:
                env |= {"OPENAI_BASE_URL": f"{fake.base}/v1", "OPENAI_API_KEY": "x"}
            wrapper = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                       f"--callgrind-out-file={out_dir}/callgrind.out.%p"]
            server: Process | None = None
            try:
                server = serve(data_dir, url, engine=args.engine, extra_env=env, wrapper=wrapper,
                               ready_timeout_s=600)
                asyncio.run(warm_up(server.base, tokens[0], spin_scripts()))
                # the measured calls once, said differently: each step is then measured warm
                asyncio.run(calls(server.base, tokens[0], chosen, args.engine == "llm", None))
                counters = Counters(server.proc.pid, out_dir)
                counters.start()
                first = counters.dumps
                steps = asyncio.run(calls(server.base, tokens[0], chosen, args.engine == "llm", counters))
                split: list[list[object]] = []
                if args.phases:
                    split = [[db, *row] for row in phase_rows(phase_steps(parts(out_dir, server.proc.pid,
                                                                                after=first)))]
                    print(markdown_table(["db", *PHASE_HEADERS], split), flush=True)
                return steps, split
            finally:
                if server is not None:
                    server.stop()
                if fake is not None:
                    fake.stop()


def phase_steps(dumps: list[tuple[int, str, int | None]], step: str = "streamed turn") -> list[dict[str, int]]:
    """With `--phases`: for each `step`, the instructions between each two consecutive marks of the server
    (bench/phases.py). A segment is named by the marks at its two ends; `(step start)` is where the last
    step's dump was taken, `(step end)` this one's."""
    found: list[dict[str, int]] = []
    segment: dict[str, int] = defaultdict(int)
    prev = "(step start)"
    for _, trigger, total in dumps:
        mark = trigger.removeprefix("Client Request:").strip() if trigger.startswith("Client Request") else None
        name = mark if mark is not None else "(step end)"
        segment[f"{prev} -> {name}"] += total or 0
        prev = name
        if mark is None:  # a step's own dump: its segments count if it is the step asked for
            if trigger == f"dump {step}":
                found.append(dict(segment))
            segment.clear()
            prev = "(step start)"
    return found


def phase_rows(steps: list[dict[str, int]]) -> list[list[object]]:
    """Segments worth 0.1 M or more a step, largest first: mean and median over the steps (a step without
    the segment counts 0), and the share of all the steps' instructions."""
    names = {key for one in steps for key in one}
    whole = sum(sum(one.values()) for one in steps)
    rows: list[tuple[float, list[object]]] = []
    for key in names:
        values = [one.get(key, 0) for one in steps]
        mean = statistics.mean(values)
        if mean >= 0.1e6:
            rows.append((mean, [key, f"{mean / 1e6:.2f}", f"{statistics.median(values) / 1e6:.2f}",
                                f"{100 * sum(values) / max(whole, 1):.0f} %"]))
    totals = [sum(one.values()) for one in steps]
    return [row for _, row in sorted(rows, key=lambda r: -r[0])] + [
        ["the whole step", f"{statistics.mean(totals) / 1e6:.2f}", f"{statistics.median(totals) / 1e6:.2f}",
         "100 %"]]


PHASE_HEADERS = ["between the marks", "mean M instr", "median M", "share"]


def rows_of(db: str, engine: str, steps: dict[str, list[int]]) -> list[list[object]]:
    def m(value: float) -> str:
        return f"{value / 1e6:.1f}"

    return [[db, engine, kind, len(counts), m(statistics.mean(counts)), m(statistics.median(counts)),
             m(min(counts)), m(max(counts))] for kind, counts in steps.items()]


HEADERS = ["db", "engine", "step", "count", "mean M instr", "median M", "min M", "max M"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    ap.add_argument("--engine", choices=["llm", "scripted"], default="llm")
    ap.add_argument("--calls", type=int, default=6, help="calls measured (scripts of 6 lines or more)")
    ap.add_argument("--ref", help="serve this commit (a git worktree under var/ab/) instead of the working tree")
    ap.add_argument("--env", action="append", default=[], metavar="K=V", help="an environment variable of the server")
    ap.add_argument("--label", default="after")
    ap.add_argument("--phases", action="store_true",
                    help="serve with bench/phases.py's marks, each a callgrind dump: instructions between marks")
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--llm-first-token-ms", type=float, default=240)
    ap.add_argument("--llm-tokens-per-s", type=float, default=25)
    ap.add_argument("--llm-words", type=int, default=20)
    args = ap.parse_args(argv)
    extra: dict[str, str] = {}
    for pair in args.env:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            ap.error(f"--env expects K=V, not {pair!r}")
        extra[key] = value
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed: apt-get install valgrind (callgrind comes with it)", file=sys.stderr)
        return 2
    if args.phases:
        if args.engine != "llm":
            ap.error("--phases marks the streamed turn: use it with --engine llm")
        os.environ["SPIN_BENCH_SERVER"] = str(ROOT / "bench" / "phases.py")
    rows: list[list[object]] = []
    split: list[list[object]] = []
    with served_from(args.ref) as ref_env:
        for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
            steps, db_split = one_run(args, db, {**extra, **ref_env})
            split += db_split
            rows += rows_of(db, args.engine, steps)
            print(markdown_table(HEADERS, rows[-len(steps):]), flush=True)
    table = markdown_table(HEADERS, rows)
    if split:
        table += ("\n\nA streamed turn between the marks of bench/phases.py (`x< -> x>`: the step x itself; "
                  "a mark the turn did not reach counts 0; segments under 0.1 M left out):\n\n"
                  + markdown_table(["db", *PHASE_HEADERS], split))
    print(f"\n{machine()}\n\n{table}")
    if not args.no_docs:
        body = (f"{table}\n\nMillions of instructions the server process executed per step "
                f"(valgrind's callgrind; its encoder process is not counted). "
                f"{'Served from ' + args.ref + '. ' if args.ref else ''}"
                f"Fake LLM: first word after {args.llm_first_token_ms:.0f} ms, {args.llm_words} words at "
                f"{args.llm_tokens_per_s:.0f} words/s.")
        write_section(f"instructions-{args.label}", f"Instructions per step ({args.label})", command_line(), body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
