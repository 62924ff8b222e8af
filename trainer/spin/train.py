"""Train the learned classifier on rubrics/corpus/train.jsonl and write trainer/spin/data/linear.npz.

Run: `python -m trainer.spin.train`. Only the train split is read; the held-out split never is.
Deterministic: fixed feature order, full-batch Adam from zero weights, no randomness.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from trainer.spin.classifier import rule_pass
from trainer.spin.corpus import CorpusItem, load_corpus
from trainer.spin.hybrid import segment_features
from trainer.spin.labels import Label
from trainer.spin.model import MODEL_PATH, save

MIN_COUNT = 2  # a feature must occur in at least this many training segments
L2 = 1e-4
STEPS = 300
LR = 0.05
Floats = npt.NDArray[np.float32]


def training_rows(items: Sequence[CorpusItem]) -> list[tuple[list[str], Label]]:
    """Features and gold label of each single-segment item (a multi-segment turn's label is the turn's)."""
    rows = []
    for item in items:
        inputs = rule_pass(item.text, item.context, item.lang)
        if len(inputs) == 1:
            rows.append((segment_features(inputs[0]), item.label))
    return rows


def fit(rows: Sequence[tuple[list[str], Label]]) -> tuple[list[str], Floats, Floats, tuple[Label, ...]]:
    """Multinomial logistic regression with L2, on row-normalised binary features."""
    counts: Counter[str] = Counter()
    for feats, _ in rows:
        counts.update(set(feats))
    vocab = sorted(f for f, c in counts.items() if c >= MIN_COUNT)
    index = {f: i for i, f in enumerate(vocab)}
    labels = tuple(Label)
    lab_index = {label: i for i, label in enumerate(labels)}
    cols: list[int] = []
    row_ids: list[int] = []
    vals: list[float] = []
    for r, (feats, _) in enumerate(rows):
        idx = sorted({index[f] for f in feats if f in index})
        cols.extend(idx)
        row_ids.extend([r] * len(idx))
        vals.extend([1.0 / np.sqrt(len(idx))] * len(idx) if idx else [])
    col = np.array(cols, dtype=np.int64)
    row = np.array(row_ids, dtype=np.int64)
    val = np.array(vals, dtype=np.float32)
    n, d, k = len(rows), len(vocab), len(labels)
    y = np.zeros((n, k), dtype=np.float32)
    y[np.arange(n), [lab_index[label] for _, label in rows]] = 1.0
    w = np.zeros((d, k), dtype=np.float32)
    b = np.zeros(k, dtype=np.float32)
    m_w, v_w, m_b, v_b = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b))
    for step in range(1, STEPS + 1):
        part = w[col] * val[:, None]
        stacked = np.stack([np.bincount(row, weights=part[:, j], minlength=n) for j in range(k)], axis=1)
        scores = stacked.astype(np.float32) + b
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        g = (probs - y) / n
        grad_w = np.zeros_like(w)
        contrib = g[row] * val[:, None]
        for j in range(k):
            grad_w[:, j] = np.bincount(col, weights=contrib[:, j], minlength=d)
        grad_w += L2 * w
        grad_b = g.sum(axis=0)
        for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= LR * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return vocab, w, b, labels


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args(argv)
    items = load_corpus(split="train")
    vocab, w, b, labels = fit(training_rows(items))
    save(MODEL_PATH, vocab, w, b, labels)
    print(f"wrote {MODEL_PATH} ({len(vocab)} features, {len(labels)} labels, {len(items)} train items)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
