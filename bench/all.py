"""Every bench in one command, writing docs/benchmarks.md: classifier, scoring, turns, capacity.

Run: `.venv/bin/python bench/all.py [--quick] [--db sqlite|postgresql|both] [--label before]`.
The classifier and scoring benches touch no database, so they run once; the turn and capacity
benches run against each database asked for (default both: SQLite and a throwaway PostgreSQL
database on 127.0.0.1:5432), the turn benches with one server process and again with two
(`<label>-2workers`: one per core of a 2-core machine), and the LLM one with two processes again with
no line repeated (`<label>-unique-2workers`, turns.py --unique-lines), then the floor under the LLM targets
(bench/relay_app.py served in its place, one and two processes: `<label>-relay-floor*`; it uses no database).
`--quick` shortens every run (for a smoke check, not for the docs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, VENV_BIN, write_section


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    print(f"$ {shown + ' ' if shown else ''}{' '.join(cmd)}", flush=True)
    proc = subprocess.run([str(VENV_BIN / "python"), *cmd], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    print(proc.stdout + proc.stderr, flush=True)
    return proc.returncode, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--label", default="latest")
    parser.add_argument("--quick", action="store_true", help="short runs: 8 s of load, 2 s capacity steps")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    docs = ["--no-docs"] if args.no_docs else []
    started = time.monotonic()
    failures = 0
    for name, cmd in (("classifier", ["bench/classifier.py", "--cold-runs", "3"]),
                      ("scoring", ["bench/scoring.py", "--repeat", "50" if args.quick else "300"])):
        code, out = run(cmd)
        failures += code != 0
        if not args.no_docs:
            write_section(f"{name}-{args.label}", f"{name.capitalize()} ({args.label})",
                          ".venv/bin/python " + " ".join(cmd), "```\n" + out.strip() + "\n```")
    load = ["--duration", "8"] if args.quick else []
    two = ["--workers", "2"]  # one worker process per core of a 2-core machine
    for cmd, label in ((["bench/turns.py", "--engine", "scripted", "--db", args.db, *load], args.label),
                       (["bench/turns.py", "--engine", "llm", "--db", args.db, *load], args.label),
                       (["bench/turns.py", "--engine", "scripted", "--db", args.db, "--trainees", "50,200", *two,
                         *load], f"{args.label}-2workers"),
                       (["bench/turns.py", "--engine", "llm", "--db", args.db, "--trainees", "200", *two, *load],
                        f"{args.label}-2workers"),
                       # the same with every line new, as a sales floor says them (none in the vector cache)
                       (["bench/turns.py", "--engine", "llm", "--db", args.db, "--trainees", "200", *two,
                         "--unique-lines", *load], f"{args.label}-unique-2workers"),
                       (["bench/capacity.py", "--db", args.db, *(["--step", "2"] if args.quick else [])],
                        args.label)):
        code, _ = run([*cmd, "--label", label, *docs])
        failures += code != 0
    relay = {"SPIN_BENCH_SERVER": "bench/relay_app.py"}
    for workers, label in ((["--workers", "1"], f"{args.label}-relay-floor"),
                           (two, f"{args.label}-relay-floor-2workers")):
        cmd = ["bench/turns.py", "--engine", "llm", "--db", "sqlite", "--trainees", "200", "--unique-lines",
               *workers, *load]
        code, _ = run([*cmd, "--label", label, *docs], relay)
        failures += code != 0
    print(f"all benches done in {time.monotonic() - started:.0f} s, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
