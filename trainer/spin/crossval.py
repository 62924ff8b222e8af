"""K-fold cross-validation of a learned classifier on the train split, for error analysis.

The held-out split is for the figures only; choices are made on these folds instead. Folds are
fixed by a CRC of the utterance text (no randomness), each fold's model is trained on the other
folds exactly as `python -m trainer.spin.train` trains the shipped one, and every train item gets
the label its fold's model gives it. Template-built lines (note "gen ...") share templates across
folds, so the figure on hand-written lines alone (`hand_only`) is the more honest one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np

from trainer.spin.augment import difficulty_turns
from trainer.spin.classifier import APPROACH, classify_with
from trainer.spin.corpus import CorpusItem
from trainer.spin.labels import Label
from trainer.spin.model import uses_embeddings
from trainer.spin.train import fit, row_vectors, training_rows


def fold_of(item: CorpusItem, k: int) -> int:
    """The item's fold: stable across runs and machines."""
    return zlib.crc32(f"{item.lang}\x00{item.text}".encode()) % k


def is_hand_written(item: CorpusItem) -> bool:
    return not item.note.startswith("gen")


def cross_validate(items: Sequence[CorpusItem], k: int, progress: Callable[[str], None] | None = None,
                   approach: str = APPROACH) -> dict[int, Label]:
    """Label of every item (by position) from the model of `approach` trained without its fold."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    folds = [fold_of(item, k) for item in items]
    difficulties = difficulty_turns(items)
    rows_by_item = [training_rows([item], approach, difficulties) for item in items]
    rows = [row for item_rows in rows_by_item for row in item_rows]
    row_fold = np.array([folds[i] for i, item_rows in enumerate(rows_by_item) for _ in item_rows], dtype=np.int64)
    vectors = row_vectors(rows) if uses_embeddings(approach) else None
    predicted: dict[int, Label] = {}
    for fold in range(k):
        keep = np.flatnonzero(row_fold != fold)
        model = fit([rows[i] for i in keep], approach, None if vectors is None else vectors[keep])
        for i, item in enumerate(items):
            if folds[i] == fold:
                predicted[i] = classify_with(item.text, item.context, item.lang, approach, model).label
        if progress:
            progress(f"fold {fold + 1}/{k} done ({len(keep)} training rows)")
    return predicted
