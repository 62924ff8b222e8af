"""K-fold cross-validation of the hybrid classifier on the train split, for error analysis.

The held-out split is for the figures only; choices are made on these folds instead. Folds are
fixed by a CRC of the utterance text (no randomness), each fold's model is trained on the other
folds exactly as `python -m trainer.spin.train` trains the shipped one, and every train item gets
the label its fold's model gives it. Template-built lines (note "gen ...") share templates across
folds, so the figure on hand-written lines alone (`hand_only`) is the more honest one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

from trainer.spin.classifier import classify_with
from trainer.spin.corpus import CorpusItem
from trainer.spin.labels import Label
from trainer.spin.model import LinearModel
from trainer.spin.train import fit, training_rows


def fold_of(item: CorpusItem, k: int) -> int:
    """The item's fold: stable across runs and machines."""
    return zlib.crc32(f"{item.lang}\x00{item.text}".encode()) % k


def is_hand_written(item: CorpusItem) -> bool:
    return not item.note.startswith("gen")


def cross_validate(items: Sequence[CorpusItem], k: int,
                   progress: Callable[[str], None] | None = None) -> dict[int, Label]:
    """Label of every item (by position) from the model trained without its fold."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    folds = [fold_of(item, k) for item in items]
    rows_by_item = [training_rows([item]) for item in items]
    predicted: dict[int, Label] = {}
    for fold in range(k):
        rows = [row for i, rows in enumerate(rows_by_item) if folds[i] != fold for row in rows]
        vocab, w, b, labels = fit(rows)
        model = LinearModel({f: i for i, f in enumerate(vocab)}, w, b, labels)
        for i, item in enumerate(items):
            if folds[i] == fold:
                predicted[i] = classify_with(item.text, item.context, item.lang, "hybrid", model).label
        if progress:
            progress(f"fold {fold + 1}/{k} done ({len(rows)} training rows)")
    return predicted
