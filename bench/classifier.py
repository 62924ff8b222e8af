"""Benchmark the offline SPIN classifier: warm latency p50/p95, cold start, throughput, peak memory.

Run: `.venv/bin/python bench/classifier.py [--approach rules|hybrid] [--repeat N]`.
Utterances are the corpus texts (both splits, both languages), labelled one at a time on one core.
Cold start is measured in a fresh interpreter: process start to the first label printed.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.spin.classifier import APPROACH, APPROACHES, classify_with  # noqa: E402
from trainer.spin.corpus import load_corpus  # noqa: E402

_COLD = ("import sys; sys.path.insert(0, {root!r}); from trainer.spin.classifier import classify_with; "
         "print(classify_with('How often do your trucks break down?', (), None, {approach!r}).label)")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cold_start(approach: str, runs: int) -> list[float]:
    """Seconds from starting a new Python process to its first label, `runs` times."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", _COLD.format(root=str(ROOT), approach=approach)], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--approach", choices=APPROACHES, default=APPROACH)
    parser.add_argument("--repeat", type=int, default=1, help="passes over the corpus for warm latency")
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    items = load_corpus(split="train") + load_corpus(split="heldout")
    tracemalloc.start()  # traced only here and below: tracing slows every allocation down
    classify_with(items[0].text, items[0].context, items[0].lang, args.approach)  # warm-up: load cues and model
    for item in items[:500]:
        classify_with(item.text, item.context, item.lang, args.approach)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    latencies: list[float] = []
    start = time.perf_counter()
    for _ in range(args.repeat):
        for item in items:
            t0 = time.perf_counter()
            classify_with(item.text, item.context, item.lang, args.approach)
            latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    long_text = "How many trucks do you run? " * 1800
    t0 = time.perf_counter()
    classify_with(long_text, (), None, args.approach)
    long_ms = (time.perf_counter() - t0) * 1000
    cold = cold_start(args.approach, args.cold_runs)
    rows = [
        ("approach", args.approach),
        ("utterances (warm)", f"{len(latencies)}"),
        ("warm p50 per utterance", f"{_percentile(latencies, 0.5) * 1000:.2f} ms"),
        ("warm p95 per utterance", f"{_percentile(latencies, 0.95) * 1000:.2f} ms"),
        ("warm max per utterance", f"{max(latencies) * 1000:.2f} ms"),
        ("throughput", f"{len(latencies) / total:.0f} utterances/s"),
        ("50,000-char turn", f"{long_ms:.1f} ms"),
        ("cold start to first label, median", f"{_percentile(cold, 0.5):.2f} s"),
        ("cold start to first label, max", f"{max(cold):.2f} s"),
        ("peak traced memory (model load + 500 turns)", f"{peak / 1e6:.1f} MB"),
        ("peak resident set size of the process", f"{rss_mb:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
