"""Train the learned classifiers on rubrics/corpus/train.jsonl and write trainer/spin/data/<approach>.npz.

Run: `python -m trainer.spin.train [--approach lexical|embedding|hybrid]` (all three by default).
Only the train split is read; the held-out split never is. Deterministic: fixed feature order,
full-batch Adam from zero weights, no randomness.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trainer.spin.augment import difficulty_turns, with_client_turns
from trainer.spin.classifier import SegmentInput, rule_pass
from trainer.spin.corpus import CorpusItem, load_corpus
from trainer.spin.hybrid import segment_features, vector_texts
from trainer.spin.labels import Label, Lang
from trainer.spin.model import LEARNED, Floats, LinearModel, model_path, save, uses_embeddings

MIN_COUNT = 2  # a feature must occur in at least this many training segments
L2 = 1e-4  # 3e-5 scored a little higher on cross-validation but broke a context convention; see docs/classifier.md
STEPS = 300
LR = 0.05
#: Each label's rows weigh (rows / (labels * rows of that label)) ** BALANCE in the loss, so the many
#: situation/problem/implication lines do not drown the rarer acts (round 6, chosen on cross-validation;
#: 1.0 scored higher but broke the same context convention as L2 3e-5, see docs/classifier.md).
BALANCE = 0.5


@dataclass(frozen=True)
class Row:
    """One training segment: its sparse features, its gold label and the input it came from."""

    feats: list[str]
    label: Label
    item: SegmentInput


def training_rows(items: Sequence[CorpusItem], approach: str = "hybrid",
                  difficulties: dict[Lang, list[str]] | None = None) -> list[Row]:
    """Features and gold label of each single-segment item (a multi-segment turn's label is the turn's),
    each followed by its copies after a client turn (trainer.spin.augment; pass `difficulties={}` for none)."""
    if difficulties is None:
        difficulties = difficulty_turns(items)
    rows = []
    for item in items:
        for version in (item, *with_client_turns(item, difficulties)):
            inputs = rule_pass(version.text, version.context, version.lang)
            if len(inputs) == 1:
                rows.append(Row(segment_features(inputs[0], approach), version.label, inputs[0]))
    return rows


def row_vectors(rows: Sequence[Row]) -> Floats:
    """Segment and client-turn vectors of each row, as `hybrid.segment_vector` builds them one at a time."""
    from trainer.spin.embed import embed_many

    texts = [vector_texts(row.item) for row in rows]
    unique = sorted({t for pair in texts for t in pair})
    vectors = embed_many(unique, cache=False)
    at = {t: i for i, t in enumerate(unique)}
    dim = vectors.shape[1]
    out = np.zeros((len(rows), 2 * dim), dtype=np.float32)
    for r, (segment, client) in enumerate(texts):
        out[r, :dim] = vectors[at[segment]]
        out[r, dim:] = vectors[at[client]]
    return out


def _sparse(rows: Sequence[Row]) -> tuple[list[str], Floats, np.ndarray, np.ndarray]:
    """Vocabulary and the row-normalised binary matrix as (values, rows, columns), sorted by row."""
    by_text: dict[str, set[str]] = {}  # a line and its copies after a client turn count as one occurrence
    for row in rows:
        by_text.setdefault(row.item.norm, set()).update(row.feats)
    counts: Counter[str] = Counter()
    for feats in by_text.values():
        counts.update(feats)
    vocab = sorted(f for f, c in counts.items() if c >= MIN_COUNT)
    index = {f: i for i, f in enumerate(vocab)}
    cols: list[int] = []
    row_ids: list[int] = []
    vals: list[float] = []
    for r, row in enumerate(rows):
        idx = sorted({index[f] for f in row.feats if f in index})
        cols.extend(idx)
        row_ids.extend([r] * len(idx))
        vals.extend([1.0 / float(np.sqrt(len(idx)))] * len(idx))
    return (vocab, np.array(vals, dtype=np.float32), np.array(row_ids, dtype=np.int64),
            np.array(cols, dtype=np.int64))


def _segment_sum(values: Floats, keys: np.ndarray, size: int) -> Floats:
    """Sum of `values` rows per key (keys sorted ascending), `size` rows out; empty keys give zeros."""
    out = np.zeros((size, values.shape[1]), dtype=np.float32)
    if len(keys):
        present, starts = np.unique(keys, return_index=True)
        out[present] = np.add.reduceat(values, starts, axis=0)
    return out


def class_weights(labels: Sequence[Label]) -> Floats:
    """Per-row loss weights, normalised to sum to 1: every label present weighs the same in total when BALANCE
    is 1 (each row 1/n when BALANCE is 0)."""
    counts = Counter(labels)
    n, k = len(labels), len(counts)
    weights = np.array([(n / (k * counts[label])) ** BALANCE for label in labels], dtype=np.float64)
    normalised: Floats = (weights / weights.sum()).astype(np.float32)
    return normalised


def fit(rows: Sequence[Row], approach: str = "hybrid", vectors: Floats | None = None) -> LinearModel:
    """Multinomial logistic regression with L2 on row-normalised binary features (plus dense vectors),
    class-balanced loss (BALANCE)."""
    if uses_embeddings(approach) and vectors is None:
        vectors = row_vectors(rows)
    vocab, val, row, col = _sparse(rows)
    by_col = np.argsort(col, kind="stable")
    col_sorted, row_by_col, val_by_col = col[by_col], row[by_col], val[by_col]
    labels = tuple(Label)
    lab_index = {label: i for i, label in enumerate(labels)}
    n, d, k = len(rows), len(vocab), len(labels)
    y = np.zeros((n, k), dtype=np.float32)
    y[np.arange(n), [lab_index[r.label] for r in rows]] = 1.0
    row_weight = class_weights([r.label for r in rows])[:, None]
    params: list[Floats] = [np.zeros((d, k), dtype=np.float32), np.zeros(k, dtype=np.float32)]
    if vectors is not None:
        params.append(np.zeros((vectors.shape[1], k), dtype=np.float32))
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    for step in range(1, STEPS + 1):
        w, b = params[0], params[1]
        scores = _segment_sum(w[col] * val[:, None], row, n) + b
        if vectors is not None:
            scores += vectors @ params[2]
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        g = (probs - y) * row_weight
        grads = [_segment_sum(g[row_by_col] * val_by_col[:, None], col_sorted, d) + L2 * w, g.sum(axis=0)]
        if vectors is not None:
            grads.append(vectors.T @ g + L2 * params[2])
        for param, grad, (m, v) in zip(params, grads, moments, strict=True):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= LR * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    dense = params[2] if vectors is not None else None
    return LinearModel({f: i for i, f in enumerate(vocab)}, params[0], params[1], labels, approach, dense)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--approach", choices=LEARNED, action="append",
                        help="which model to train (repeatable; default: all)")
    args = parser.parse_args(argv)
    items = load_corpus(split="train")
    for approach in args.approach or LEARNED:
        model = fit(training_rows(items, approach), approach)
        path = model_path(approach)
        save(path, model)
        print(f"wrote {path} ({len(model.vocab)} features, {len(model.labels)} labels, {len(items)} train items)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
