"""Simulated trainees against a real `spin-trainer serve`: turn latency, errors, throughput, memory.

Run: `.venv/bin/python bench/turns.py [--trainees 10,50,200] [--engine scripted|llm|both]
      [--db sqlite|postgresql|both] [--duration 30] [--think 3] [--label before]`.
Each trainee holds a bearer token, starts a call (POST /api/calls), says the SPIN trainee's lines for
that persona one at a time, waits for each reply, thinks (default 3 s, give or take 20 %), and starts
a new call when one ends (hanging up with POST /end when its lines run out). Every run gets a fresh
database (a SQLite file, or a throwaway PostgreSQL database on 127.0.0.1:5432 dropped after) and a
fresh server with the turn rate limit off. With `--engine llm` the server talks to bench/fake_llm.py
on loopback and the trainees use the streaming endpoint; the fake's own timings per reply are
subtracted to give the server's time and its first-token overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    VENV_BIN,
    Process,
    Script,
    Summary,
    bench_database,
    command_line,
    counts,
    free_port,
    markdown_table,
    ms,
    prepare_accounts,
    serve,
    spawn,
    spin_scripts,
    start_offsets,
    think_time,
    unique_line,
    verdict,
    write_section,
)
from wire import Connection, WireError, sse_events

MARK = re.compile(r"#(\d+)\s*$")
CHECK_ID = re.compile(r"chatcmpl-bench-(\d+)")  # bench/fake_llm.py numbers its completions
TARGET_SCRIPTED_P95_MS = 30.0  # at 50 trainees
TARGET_LLM_SERVER_P95_MS = 50.0  # at 200 trainees
TARGET_FIRST_TOKEN_MS = 15.0


@dataclass
class Stats:
    turns: list[float] = field(default_factory=list)  # end-to-end seconds per turn
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    # (n, sent, first, done, label check n): the fake's numbers of the reply and of the label check (if any)
    streamed: list[tuple[int, float, float, float, int | None]] = field(default_factory=list)
    label_checks: int = 0  # turns whose label the model checked (not from the classifier's cache)

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


@dataclass
class Load:
    base: str
    tokens: list[str]
    scripts: tuple[Script, ...]
    duration_s: float
    think_s: float
    stream: bool
    unique_lines: bool = False  # each trainee says its lines its own way (common.unique_line)
    stats: Stats = field(default_factory=Stats)


async def _turn_plain(conn: Connection, load: Load, call_id: int, text: str) -> bool | None:
    """One turn; True when the call ended, None on an error."""
    res = await conn.request("POST", f"/api/calls/{call_id}/turns", {"text": text})
    if res.status != 200:
        load.stats.error(f"turn {res.status}")
        return None
    body = res.json()
    if body.get("client") and body["client"].get("notice"):
        load.stats.fallbacks += 1
    return bool(body.get("ended"))


async def _turn_stream(conn: Connection, load: Load, call_id: int, text: str, sent: float) -> bool | None:
    first = 0.0
    done: dict[str, Any] | None = None
    checked: int | None = None
    status, body = await conn.stream("POST", f"/api/calls/{call_id}/turns/stream", {"text": text})
    if status != 200:
        async for _ in body:
            pass
        load.stats.error(f"stream {status}")
        return None
    async with asyncio.timeout(conn.timeout):
        async for event, data in sse_events(body):
            if event == "token":
                first = first or time.monotonic()
            elif event == "trainee":
                checked = _label_check(json.loads(data))
            elif event == "done":
                done = json.loads(data)
            elif event == "error":
                conn.close()  # the rest of the body is not read
                load.stats.error("stream error event")
                return None
    if done is None:
        load.stats.error("stream without done")
        return None
    reply = done.get("client") or {}
    if reply.get("notice"):
        load.stats.fallbacks += 1
    match = MARK.search(reply.get("text") or "")
    if checked is not None:
        load.stats.label_checks += 1
    if match and first:
        load.stats.streamed.append((int(match.group(1)), sent, first, time.monotonic(), checked))
    return bool(done.get("ended"))


async def trainee(load: Load, i: int, offset: float, stop_at: float) -> None:
    rng = random.Random(i)
    conn = Connection(load.base, {"Authorization": f"Bearer {load.tokens[i]}"})
    await asyncio.sleep(offset)
    calls = 0
    try:
        while time.monotonic() < stop_at:
            script = load.scripts[(i + calls) % len(load.scripts)]
            calls += 1
            await _call(conn, load, script, rng, stop_at, i)
    finally:
        conn.close()


async def _call(conn: Connection, load: Load, script: Script, rng: random.Random, stop_at: float,
                trainee_no: int) -> None:
    """One call: start it, say the script's lines with think time between, hang up if it did not end."""
    t0 = time.monotonic()
    try:
        res = await conn.request("POST", "/api/calls", {"persona": script.persona, "lang": script.lang})
    except WireError as exc:
        load.stats.error(f"start {exc.kind}")
        await asyncio.sleep(1)
        return
    if res.status != 201:
        load.stats.error(f"start {res.status}")
        await asyncio.sleep(1)
        return
    load.stats.starts.append(time.monotonic() - t0)
    call_id = res.json()["id"]
    for line in script.lines:
        await asyncio.sleep(think_time(load.think_s, rng))
        if time.monotonic() >= stop_at:
            break
        if load.unique_lines:
            line = unique_line(line, script.lang, trainee_no)
        sent = time.monotonic()
        try:
            if load.stream:
                outcome = await _turn_stream(conn, load, call_id, line, sent)
            else:
                outcome = await _turn_plain(conn, load, call_id, line)
        except (WireError, TimeoutError) as exc:
            conn.close()
            load.stats.error(f"turn {type(exc).__name__}")
            outcome = None
        if outcome is None:
            break
        load.stats.turns.append(time.monotonic() - sent)
        if outcome:
            return
    if time.monotonic() >= stop_at:
        return
    t0 = time.monotonic()
    try:
        res = await conn.request("POST", f"/api/calls/{call_id}/end")
    except WireError as exc:
        load.stats.error(f"end {exc.kind}")
        return
    if res.status == 200:
        load.stats.ends.append(time.monotonic() - t0)
    else:
        load.stats.error(f"end {res.status}")


async def warm_up(base: str, token: str, scripts: tuple[Script, ...]) -> None:
    """One short call per persona and language, untimed: persona, classifier and template caches."""
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for script in scripts:
            res = await client.post("/api/calls", json={"persona": script.persona, "lang": script.lang},
                                    headers=auth)
            res.raise_for_status()
            call_id = res.json()["id"]
            await client.post(f"/api/calls/{call_id}/turns", json={"text": script.lines[0]}, headers=auth)
            await client.post(f"/api/calls/{call_id}/end", headers=auth)


async def run_load(load: Load, n: int) -> float:
    start = time.monotonic()
    stop_at = start + load.duration_s
    offsets = start_offsets(n, max(load.think_s, 1.0))
    await asyncio.gather(*(trainee(load, i, offsets[i], stop_at) for i in range(n)))
    return time.monotonic() - start


@dataclass
class Row:
    db: str
    engine: str
    trainees: int
    elapsed: float
    stats: Stats
    rss_peak: float
    rss_end: float
    cpu_s: float  # the server's CPU time (user + system) during the load
    load_cpu_s: float = 0.0  # this load generator's CPU time during the load
    fake_cpu_s: float = 0.0  # the fake LLM's CPU time during the load
    encoder_cpu_s: float = 0.0  # of `cpu_s`, the sentence encoder's processes
    server_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    before_ms: list[float] = field(default_factory=list)  # line sent -> the model's request arrived
    after_ms: list[float] = field(default_factory=list)  # the model's last byte -> the done event read
    unmatched: int = 0


def _label_check(trainee: dict[str, Any]) -> int | None:
    """The fake's number of the request that checked this turn's label (None: no request was made)."""
    check = trainee.get("check") or {}
    found = CHECK_ID.fullmatch(str(check.get("completion_id") or ""))
    return int(found.group(1)) if found and not check.get("cached") else None


def llm_overheads(streamed: list[tuple[int, float, float, float, int | None]], timings: list[dict[str, float]]
                  ) -> tuple[list[float], list[float], int]:
    """Server time (end-to-end minus the fake's time) and first-token overhead per matched turn, in ms.

    The fake's time is its reply's arrival-to-last-byte, plus, when the model checked the turn's label
    first, that request's arrival-to-last-byte: both are the model's time, not the server's.
    """
    by_n = {int(t["n"]): t for t in timings}
    server, first = [], []
    unmatched = 0
    for n, sent, first_seen, done, checked in streamed:
        fake = by_n.get(n)
        label = by_n.get(checked) if checked is not None else None
        if fake is None or (checked is not None and label is None):
            unmatched += 1
            continue
        label_s = label["end"] - label["arrived"] if label else 0.0
        server.append(((done - sent) - (fake["end"] - fake["arrived"]) - label_s) * 1000)
        first.append(((first_seen - sent) - (fake["first"] - fake["arrived"]) - label_s) * 1000)
    return server, first, unmatched


def llm_phases(streamed: list[tuple[int, float, float, float, int | None]], timings: list[dict[str, float]]
               ) -> tuple[list[float], list[float]]:
    """Where the server time goes, in ms: from the line sent to the model's request arriving (sign-in,
    label, director, commit, the request to the model; less any label check), and from the model's
    last byte to the done event read (the last token relayed, the reply stored)."""
    by_n = {int(t["n"]): t for t in timings}
    before, after = [], []
    for n, sent, _first, done, checked in streamed:
        fake, label = by_n.get(n), by_n.get(checked) if checked is not None else None
        if fake is None or (checked is not None and label is None):
            continue
        label_s = label["end"] - label["arrived"] if label else 0.0
        before.append((fake["arrived"] - sent - label_s) * 1000)
        after.append((done - fake["end"]) * 1000)
    return before, after


def fake_llm(args: argparse.Namespace, data_dir: Path) -> Process:
    port = free_port()
    cmd = [str(VENV_BIN / "python"), str(ROOT / "bench" / "fake_llm.py"), "--port", str(port),
           "--first-token-ms", str(args.llm_first_token_ms), "--tokens-per-s", str(args.llm_tokens_per_s),
           "--words", str(args.llm_words)]
    return spawn(cmd, {}, port, "/healthz", data_dir / "fake-llm.log")


def one_run(args: argparse.Namespace, db: str, engine: str, n: int) -> Row:
    with tempfile.TemporaryDirectory(prefix="spin-bench-") as tmp:
        data_dir = Path(tmp)
        with bench_database(db, data_dir) as url:
            tokens = prepare_accounts(url, n)
            fake = fake_llm(args, data_dir) if engine == "llm" else None
            env = {}
            if fake is not None:
                env = {"OPENAI_BASE_URL": f"{fake.base}/v1", "OPENAI_API_KEY": "x"}
            server = serve(data_dir, url, engine=engine, extra_env=env, workers=args.workers)
            try:
                scripts = spin_scripts()
                asyncio.run(warm_up(server.base, tokens[0], scripts))
                load = Load(server.base, tokens, scripts, args.duration, args.think, stream=engine == "llm",
                            unique_lines=args.unique_lines)
                if args.profile:
                    profiler = _py_spy(server, data_dir, args, f"{db}-{engine}-{n}")
                cpu_before, load_before, encoder_before = server.cpu(), time.process_time(), server.encoder_cpu()
                fake_before = fake.cpu() if fake is not None else 0.0
                elapsed = asyncio.run(run_load(load, n))
                cpu_used = server.cpu() - cpu_before
                server.sample()
                row = Row(db, engine, n, elapsed, load.stats, server.rss_peak, server.rss_last, cpu_used,
                          load_cpu_s=time.process_time() - load_before,
                          fake_cpu_s=fake.cpu() - fake_before if fake is not None else 0.0,
                          encoder_cpu_s=server.encoder_cpu() - encoder_before)
                if args.profile:
                    profiler.wait(180)
                if fake is not None:
                    timings = httpx.get(f"{fake.base}/_timings", timeout=30).json()
                    row.server_ms, row.first_ms, row.unmatched = llm_overheads(load.stats.streamed, timings)
                    row.before_ms, row.after_ms = llm_phases(load.stats.streamed, timings)
            finally:
                server.stop()
                if fake is not None:
                    fake.stop()
    return row


def _py_spy(server: Process, data_dir: Path, args: argparse.Namespace, name: str) -> subprocess.Popen[bytes]:
    out = ROOT / "var" / f"profile-{name}.txt"
    out.parent.mkdir(exist_ok=True)
    cmd = [str(VENV_BIN / "py-spy"), "record", "--pid", str(server.proc.pid), "--duration",
           str(int(args.duration)), "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking",
           "--gil"]
    print(f"profiling into {out}", flush=True)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def table(rows: list[Row]) -> str:
    headers, out = cells_of(rows)
    notes = []
    for r in rows:
        if r.stats.errors:
            notes.append(f"- {r.db}/{r.engine}/{r.trainees}: " + ", ".join(
                f"{k} x{v}" for k, v in r.stats.errors.most_common()))
        if r.unmatched:
            notes.append(f"- {r.db}/{r.engine}/{r.trainees}: {r.unmatched} streamed turns had no fake timing")
    return markdown_table(headers, out) + ("\n\nErrors:\n" + "\n".join(notes) if notes else "")


def cells_of(rows: list[Row]) -> tuple[list[str], list[list[object]]]:
    """The table's headers and cells, one list a run (also what `--json` writes, keyed by header)."""
    headers = ["db", "engine", "trainees", "turns", "turns/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
               "call start p95 ms", "hang-up p95 ms", "RSS peak/end MB", "server CPU ms/turn",
               "of which encoder ms/turn", "cores busy: server/load/fake", "target"]
    llm = any(r.engine == "llm" for r in rows)
    if llm:
        headers[-1:-1] = ["server p50/p95 ms", "first-token overhead p50/p95 ms", "before model p50/p95 ms",
                          "after model p50/p95 ms", "fallbacks", "label checks"]
    out = []
    for r in rows:
        s = r.stats
        t = Summary.of([x * 1000 for x in s.turns])
        starts = Summary.of([x * 1000 for x in s.starts])
        ends = Summary.of([x * 1000 for x in s.ends])
        errors = sum(s.errors.values())
        cells: list[object] = [r.db, r.engine, r.trainees, t.count, f"{t.count / r.elapsed:.1f}", ms(t.p50),
                               ms(t.p95), ms(t.p99), ms(t.max), errors, ms(starts.p95), ms(ends.p95),
                               f"{r.rss_peak:.0f}/{r.rss_end:.0f}", f"{r.cpu_s * 1000 / max(1, t.count):.1f}",
                               f"{r.encoder_cpu_s * 1000 / max(1, t.count):.1f}",
                               "/".join(f"{c / r.elapsed:.2f}" for c in (r.cpu_s, r.load_cpu_s, r.fake_cpu_s))]
        target = "-"
        if r.engine == "scripted" and r.trainees == 50:
            target = f"p95 <= {TARGET_SCRIPTED_P95_MS:g} ms: {verdict(t.p95, TARGET_SCRIPTED_P95_MS)}"
        if llm:
            server, first = Summary.of(r.server_ms), Summary.of(r.first_ms)
            if r.engine == "llm":
                before, after = Summary.of(r.before_ms), Summary.of(r.after_ms)
                cells += [f"{ms(server.p50)}/{ms(server.p95)}", f"{ms(first.p50)}/{ms(first.p95)}",
                          f"{ms(before.p50)}/{ms(before.p95)}", f"{ms(after.p50)}/{ms(after.p95)}", s.fallbacks,
                          s.label_checks]
            else:
                cells += ["-", "-", "-", "-", "-", "-"]
            if r.engine == "llm" and r.trainees == 200:
                target = (f"0 errors: {verdict(errors, 0)}; server p95 <= {TARGET_LLM_SERVER_P95_MS:g} ms: "
                          f"{verdict(server.p95, TARGET_LLM_SERVER_P95_MS)}; first token <= "
                          f"{TARGET_FIRST_TOKEN_MS:g} ms: {verdict(first.p95, TARGET_FIRST_TOKEN_MS)}")
        out.append([*cells, target])
    return headers, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=counts, default=[10, 50, 200], help="comma-separated trainee counts")
    parser.add_argument("--engine", choices=("scripted", "llm", "both"), default="scripted")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per run")
    parser.add_argument("--think", type=float, default=3.0, help="seconds a trainee thinks between lines")
    parser.add_argument("--llm-first-token-ms", type=float, default=240.0)
    parser.add_argument("--llm-tokens-per-s", type=float, default=25.0)
    parser.add_argument("--llm-words", type=int, default=20, help="words per fake reply (240 ms + 19/25 s = 1 s)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server")
    parser.add_argument("--unique-lines", action="store_true",
                        help="no two trainees send the same text (each addresses the client by a name of its own), "
                             "so the classifier's sentence-vector cache does not hold their lines")
    parser.add_argument("--label", default="latest", help="docs section label, e.g. before or after")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the table's rows to PATH as JSON, one object a run keyed by column "
                             "(for bench/ab.py)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the server (the thread holding the GIL) during each run (var/profile-*)")
    args = parser.parse_args()
    sizes: list[int] = args.trainees
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    engines = ["scripted", "llm"] if args.engine == "both" else [args.engine]
    rows: list[Row] = []
    for engine in engines:
        for db in dbs:
            for n in sizes:
                print(f"-- {db}, {engine} engine, {n} trainees, {args.duration:g} s, think {args.think:g} s",
                      flush=True)
                rows.append(one_run(args, db, engine, n))
                print(table(rows[-1:]), flush=True)
    print()
    print(table(rows))
    if args.json is not None:
        headers, out = cells_of(rows)
        args.json.write_text(json.dumps([dict(zip(headers, row, strict=True)) for row in out], indent=1) + "\n",
                             encoding="utf-8")
    if not args.no_docs:
        for engine in engines:
            mine = [r for r in rows if r.engine == engine]
            body = table(mine)
            if engine == "llm":
                body += (f"\n\nFake LLM: first word after {args.llm_first_token_ms:g} ms, {args.llm_words} words at "
                         f"{args.llm_tokens_per_s:g} words/s, streamed. Server time = end-to-end minus the fake's "
                         "own arrival-to-last-byte time for that reply (and for the label check, when the model "
                         "checked an unsure label first, matched by completion id); first-token overhead = time "
                         "to the first token event minus the fake's arrival-to-first-word time (and the label "
                         "check's). The fake answers a label check in the time of a whole reply.")
            if args.unique_lines:
                body += ("\n\nUnique lines: each trainee addresses the client by a name and an opening word of its "
                         "own (bench/common.py `unique_line`), so no line is in the sentence-vector cache.")
            write_section(f"turns-{engine}-{args.db}-{args.label}",
                          f"Turns, {engine} engine, {args.db} ({args.label})", command_line(), body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
