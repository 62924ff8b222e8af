"""The learned part of the classifier: a multinomial logistic regression over sparse features.

Weights live in `trainer/spin/data/linear.npz` (vocabulary, weight matrix, bias, label order),
written by `python -m trainer.spin.train` from rubrics/corpus/train.jsonl only. They are loaded on
first use and cached; nothing is downloaded. numpy is the only dependency.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trainer.spin.labels import Label

MODEL_PATH = Path(__file__).resolve().parent / "data" / "linear.npz"


@dataclass(frozen=True)
class LinearModel:
    vocab: dict[str, int]
    weights: npt.NDArray[np.float32]  # (features, labels)
    bias: npt.NDArray[np.float32]  # (labels,)
    labels: tuple[Label, ...]

    def predict(self, feats: Sequence[str]) -> tuple[list[float], str]:
        """Probabilities per label (in `self.labels` order) and the known feature that pushed the winner most."""
        idx = sorted({self.vocab[f] for f in feats if f in self.vocab})
        scale = 1.0 / math.sqrt(len(idx)) if idx else 0.0
        if idx:
            rows = self.weights[idx].astype(np.float32)
            scores = rows.sum(axis=0) * scale + self.bias
        else:
            rows = np.zeros((0, len(self.labels)), dtype=np.float32)
            scores = self.bias.copy()
        scores = scores - scores.max()
        probs = np.exp(scores)
        probs /= probs.sum()
        top = int(probs.argmax())
        evidence = ""
        if idx:
            inverse = self.inverse_vocab()
            words = [(float(rows[k, top]), inverse[i]) for k, i in enumerate(idx) if inverse[i][0] in "wb"]
            if words:
                evidence = max(words)[1][1:]
        return [float(p) for p in probs], evidence

    @functools.cache  # noqa: B019 - one model object per process
    def inverse_vocab(self) -> dict[int, str]:
        return {i: f for f, i in self.vocab.items()}

    def __hash__(self) -> int:
        return id(self)


def save(path: Path, vocab: Sequence[str], weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32],
         labels: Sequence[Label]) -> None:
    """Write the model as a compressed npz with no pickled objects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vocab=np.array(list(vocab), dtype=str), weights=weights.astype(np.float16),
                        bias=bias.astype(np.float32), labels=np.array([label.value for label in labels], dtype=str))


@functools.cache
def load(path: Path = MODEL_PATH) -> LinearModel:
    """Load (once) the weights shipped with the package."""
    with np.load(path, allow_pickle=False) as data:
        vocab = {str(f): i for i, f in enumerate(data["vocab"].tolist())}
        weights = data["weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
        labels = tuple(Label(str(v)) for v in data["labels"].tolist())
    return LinearModel(vocab, weights, bias, labels)
