"""The learned part of the classifier: a multinomial logistic regression over sparse and dense features.

One weights file per learned approach in `trainer/spin/data/` (vocabulary, sparse weight matrix,
bias, label order, and for the approaches that use sentence embeddings a dense weight matrix over
the segment's and the client turn's vectors), written by `python -m trainer.spin.train` from
rubrics/corpus/train.jsonl only. Loaded on first use and cached; nothing is downloaded.
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

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Learned approaches and what each one sees: lexical features, sentence embeddings, or both.
LEARNED = ("lexical", "embedding", "hybrid")
Floats = npt.NDArray[np.float32]


def model_path(approach: str) -> Path:
    """Where the shipped weights of a learned approach live."""
    if approach not in LEARNED:
        raise ValueError(f"no learned model for approach {approach!r}")
    return DATA_DIR / f"{approach}.npz"


def uses_lexical(approach: str) -> bool:
    return approach in ("lexical", "hybrid")


def uses_embeddings(approach: str) -> bool:
    return approach in ("embedding", "hybrid")


@dataclass(frozen=True)
class LinearModel:
    vocab: dict[str, int]
    weights: Floats  # (features, labels)
    bias: Floats  # (labels,)
    labels: tuple[Label, ...]
    approach: str = "lexical"
    dense: Floats | None = None  # (vector size, labels), for the approaches with embeddings

    def predict(self, feats: Sequence[str], vector: Floats | None = None) -> tuple[list[float], str]:
        """Probabilities per label (in `self.labels` order) and the known word that pushed the winner most."""
        known = set(map(self.vocab.get, feats))  # in C: a set comprehension here cost a tenth of the label
        known.discard(None)
        idx: list[int] = sorted(known)  # type: ignore[arg-type]
        probs = self.probabilities(idx, vector)
        evidence = ""
        if idx:
            inverse = self.inverse_vocab()
            column = self.weights[idx, int(probs.argmax())].tolist()  # Python floats, as float() of each gives
            words = [(column[k], inverse[i]) for k, i in enumerate(idx) if inverse[i][0] in "wb"]
            if words:
                evidence = max(words)[1][1:]
        return [float(p) for p in probs], evidence

    def probabilities(self, idx: Sequence[int], vector: Floats | None = None) -> Floats:
        """The softmax over labels of the features at vocabulary indices `idx` (and the sentence vector)."""
        scores = self.bias.copy()
        if idx:
            scores += self.weights[idx].sum(axis=0) * (1.0 / math.sqrt(len(idx)))
        if self.dense is not None and vector is not None:
            scores = scores + vector @ self.dense
        scores = scores - scores.max()
        probs: Floats = np.exp(scores)
        probs /= probs.sum()
        return probs

    @functools.cache  # noqa: B019 - one model object per process
    def inverse_vocab(self) -> dict[int, str]:
        return {i: f for f, i in self.vocab.items()}

    def __hash__(self) -> int:
        return id(self)


def save(path: Path, model: LinearModel) -> None:
    """Write the model as a compressed npz with no pickled objects (float16 weights)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    vocab = sorted(model.vocab, key=model.vocab.__getitem__)
    arrays = {"vocab": np.array(vocab, dtype=str), "weights": model.weights.astype(np.float16),
              "bias": model.bias.astype(np.float32), "approach": np.array(model.approach, dtype=str),
              "labels": np.array([label.value for label in model.labels], dtype=str)}
    if model.dense is not None:
        arrays["dense"] = model.dense.astype(np.float16)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


@functools.cache
def load(path: Path) -> LinearModel:
    """Load (once) the weights at `path`."""
    with np.load(path, allow_pickle=False) as data:
        vocab = {str(f): i for i, f in enumerate(data["vocab"].tolist())}
        weights = data["weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
        labels = tuple(Label(str(v)) for v in data["labels"].tolist())
        approach = str(data["approach"]) if "approach" in data.files else "lexical"
        dense = data["dense"].astype(np.float32) if "dense" in data.files else None
    return LinearModel(vocab, weights, bias, labels, approach, dense)


def shipped(approach: str) -> LinearModel:
    """The weights shipped for a learned approach."""
    return load(model_path(approach))
