"""A/B of one turns bench: two variants of the server, run in alternation so a drifting machine weighs on both.

On a shared machine the same command gave a first-token p95 of 45 ms and, twenty minutes later, 247 ms
(docs/benchmarks.md, round 7): a "before" run now and an "after" run later compare the machine, not the
code. Here runs alternate A B, B A, A B, ... and each variant's figures are given as ranges and medians.

Run (the arguments after `--` go to bench/turns.py: one --db, one --engine, one trainee count):
  .venv/bin/python bench/ab.py --pairs 3 --a-env SPIN_TRAINER_ENCODER_PROCESS=false \\
      --b-env SPIN_TRAINER_ENCODER_PROCESS=true -- --engine llm --db sqlite --trainees 200 --unique-lines
  .venv/bin/python bench/ab.py --a-ref HEAD~1 -- --engine llm --db sqlite --trainees 200
A variant is the working tree with environment variables of its own (`--a-env KEY=VALUE`, repeatable), or a
git commit (`--a-ref REF`) served from a worktree under var/ab/ through PYTHONPATH with this venv: only a
commit with the same dependencies and database schema compares (the bench migrates with the working tree).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, VENV_BIN, command_line, markdown_table, write_section

#: (label, column of bench/turns.py's table, which half of an "a/b" cell; None: the whole cell)
MEASURES: tuple[tuple[str, str, int | None], ...] = (
    ("turns", "turns", None),
    ("errors", "errors", None),
    ("server CPU ms/turn", "server CPU ms/turn", None),
    ("turn p50 ms", "p50 ms", None),
    ("turn p95 ms", "p95 ms", None),
    ("server time p50 ms", "server p50/p95 ms", 0),
    ("server time p95 ms", "server p50/p95 ms", 1),
    ("first-token overhead p50 ms", "first-token overhead p50/p95 ms", 0),
    ("first-token overhead p95 ms", "first-token overhead p50/p95 ms", 1),
    ("before model p95 ms", "before model p50/p95 ms", 1),
)


@dataclass
class Variant:
    """One side of the comparison: environment variables of its own, or a commit served from a worktree."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    ref: str | None = None
    runs: list[dict[str, float]] = field(default_factory=list)

    def describe(self) -> str:
        what = [f"commit {self.ref}" if self.ref else "the working tree"]
        what += [f"{k}={v}" for k, v in self.env.items()]
        return ", ".join(what)


def env_pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    """`KEY=VALUE` arguments as a dict; anything else is refused with the fix."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} {value!r}: give KEY=VALUE, e.g. {flag} SPIN_TRAINER_ENCODER_PROCESS=false")
        out[key] = val
    return out


def check_turns_args(args: Sequence[str]) -> None:
    """One run per variant and pair: refuse what would make bench/turns.py run several."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--engine", default="scripted")
    parser.add_argument("--trainees")
    parser.add_argument("--json")
    known, _ = parser.parse_known_args(args)
    if known.db == "both" or known.engine == "both":
        raise SystemExit("bench/ab.py compares one run at a time: give --db sqlite|postgresql and "
                         "--engine scripted|llm after --, not both")
    if known.trainees is None or "," in known.trainees:
        raise SystemExit("bench/ab.py compares one run at a time: give one trainee count after --, "
                         "e.g. -- --trainees 200")
    if known.json is not None:
        raise SystemExit("bench/ab.py sets --json itself; leave it out of the arguments after --")


def number(cell: object, half: int | None) -> float:
    """A figure of a turns table cell ("21.9/51.3" has two); "-" or NaN is NaN."""
    text = str(cell)
    if half is not None:
        parts = text.split("/")
        text = parts[half] if len(parts) == 2 else "nan"
    try:
        return float(text)
    except ValueError:
        return float("nan")


def figures(row: dict[str, object]) -> dict[str, float]:
    return {label: number(row[column], half) for label, column, half in MEASURES if column in row}


@contextmanager
def served_from(ref: str | None) -> Iterator[dict[str, str]]:
    """The environment that serves `ref` (a worktree of it on PYTHONPATH), or nothing for the working tree."""
    if ref is None:
        yield {}
        return
    done = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"--a-ref/--b-ref {ref!r} is not a commit here: {done.stderr.strip()}")
    sha = done.stdout.strip()
    path = ROOT / "var" / "ab" / sha[:12]
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), sha], cwd=ROOT, check=True,
                       capture_output=True)
    try:
        yield {"PYTHONPATH": str(path)}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, capture_output=True)


def run_once(variant: Variant, extra_env: dict[str, str], turns_args: Sequence[str]) -> dict[str, float]:
    """One bench/turns.py run of `variant`; its figures, with the load average at its start."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [str(VENV_BIN / "python"), str(ROOT / "bench" / "turns.py"), *turns_args, "--no-docs",
               "--json", str(out)]
        done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **variant.env, **extra_env}, capture_output=True,
                              text=True)
        if done.returncode != 0 or not out.exists():
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
            raise SystemExit(f"bench/turns.py failed for {variant.name} (exit code {done.returncode}); "
                             "its output is above")
        rows = json.loads(out.read_text(encoding="utf-8"))
    if len(rows) != 1:
        raise SystemExit(f"bench/turns.py made {len(rows)} runs; give one --db, --engine and trainee count")
    return {"load average": load, **figures(rows[0])}


#: Measures that count things: shown without decimals.
COUNTS = ("turns", "errors")


def shown(label: str, value: float) -> str:
    if value != value:  # NaN: the run has no such figure
        return "-"
    if label == "load average":
        return f"{value:.2f}"
    return f"{value:.0f}" if label in COUNTS else f"{value:.1f}"


def spread(label: str, values: list[float]) -> str:
    """Median and range of a variant's runs ("-" when none has the figure)."""
    real = [v for v in values if v == v]
    if not real:
        return "-"
    low, mid, high = (shown(label, v) for v in (min(real), statistics.median(real), max(real)))
    return mid if low == high else f"{mid} ({low}-{high})"


def report(a: Variant, b: Variant, order: list[Variant]) -> str:
    """Each run in the order run, then each measure's median and range per variant."""
    labels = ["load average"] + [label for label, _, _ in MEASURES if label in a.runs[0]]
    seen = {a.name: 0, b.name: 0}
    rows: list[list[object]] = []
    for n, variant in enumerate(order, 1):
        run = variant.runs[seen[variant.name]]
        seen[variant.name] += 1
        rows.append([n, variant.name, *(shown(label, run[label]) for label in labels)])
    runs = markdown_table(["run", "variant", *labels], rows)
    summary = markdown_table(
        ["measure", f"{a.name}: median (range)", f"{b.name}: median (range)"],
        [[label, spread(label, [r[label] for r in a.runs]), spread(label, [r[label] for r in b.runs])]
         for label in labels])
    legend = f"- {a.name}: {a.describe()}\n- {b.name}: {b.describe()}"
    return f"{legend}\n\n{runs}\n\n{summary}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    turns_args = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     usage="%(prog)s [options] -- ARGUMENTS OF bench/turns.py")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each variant, alternating (default 3)")
    for side in ("a", "b"):
        parser.add_argument(f"--{side}-env", action="append", default=[], metavar="KEY=VALUE",
                            help=f"an environment variable of variant {side.upper()} (repeatable)")
        parser.add_argument(f"--{side}-ref", metavar="REF", help=f"serve variant {side.upper()} from this commit")
        parser.add_argument(f"--{side}-name", help=f"what the tables call variant {side.upper()}")
    parser.add_argument("--label", default="latest", help="docs section label: ab-LABEL")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(own)
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    check_turns_args(turns_args)
    a = Variant(args.a_name or "A", env_pairs(args.a_env, "--a-env"), args.a_ref)
    b = Variant(args.b_name or "B", env_pairs(args.b_env, "--b-env"), args.b_ref)
    if (a.env, a.ref) == (b.env, b.ref):
        parser.error("the two variants are the same: give --a-env/--b-env or --a-ref/--b-ref")
    order = [v for i in range(args.pairs) for v in ((a, b) if i % 2 == 0 else (b, a))]
    print(f"A = {a.describe()}\nB = {b.describe()}\nbench/turns.py {' '.join(turns_args)}", flush=True)
    with served_from(a.ref) as a_env, served_from(b.ref) as b_env:
        for n, variant in enumerate(order, 1):
            run = run_once(variant, a_env if variant is a else b_env, turns_args)
            variant.runs.append(run)
            print(f"run {n}/{len(order)} {variant.name}: " + ", ".join(
                f"{k} {shown(k, v)}" for k, v in run.items()), flush=True)
    body = report(a, b, order)
    print()
    print(body)
    if not args.no_docs:
        write_section(f"ab-{args.label}", f"A/B, {' '.join(turns_args)} ({args.label})", command_line(),
                      body + "\n\nRuns alternate A B, B A, ...; the load average is the machine's at each run's start.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
