"""The label's fast paths give what the plain versions they replaced gave, on the whole labelled corpus in
both languages and on edge cases: language detection counted in C, normalising without the per-character
pass when nothing needs replacing, earlier turns' flags read once and cached, and the model's feature
indices and evidence taken without a Python loop over numpy elements."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from trainer.spin import classifier
from trainer.spin.corpus import load_corpus
from trainer.spin.hybrid import segment_features
from trainer.spin.labels import Label
from trainer.spin.lang import CYRILLIC_SHARE, detect_lang
from trainer.spin.model import LinearModel, shipped
from trainer.spin.types import ContextTurn


def _reference_lang(text: str) -> str:
    letters = cyrillic = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if "\u0400" <= ch <= "\u04ff":
                cyrillic += 1
    if letters == 0:
        return "en"
    return "ru" if cyrillic / letters >= CYRILLIC_SHARE else "en"


def _reference_normalize(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("’", "'").replace("`", "'").replace("‘", "'")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return classifier._space_re().sub(" ", text).strip()


def _reference_context(context: Sequence[ContextTurn]) -> tuple[bool, bool]:
    problem = objection = False
    for turn in context:
        norm = _reference_normalize(turn.text[:2000])
        lex = classifier._lexicon(_reference_lang(norm))  # type: ignore[arg-type]
        if turn.role == "client":
            problem = problem or lex.problem_talk.search(norm) is not None or classifier._has_problem_cue(norm, lex)
            objection = lex.objection_talk.search(norm) is not None
        else:
            problem = problem or classifier._has_problem_cue(norm, lex)
    return problem, objection


def _items() -> list:  # type: ignore[type-arg]
    return [item for split in ("train", "heldout") for item in load_corpus(split=split)]


EDGES = ["", "123 456", "Ёлка и ёж", "Привет, how are you?", "CRM Bitrix24 в облаке", "ﬁne ½ ² ҂ ҈ ӿ Ѐ",
         "tab\there\x00nul\u200bzero-width\u00a0nbsp", "Zürich straße", "\u0483\u0484 combining only",
         "ПРИВЕТ" * 50, "a" * 3000]


def test_language_and_normalising_agree_with_the_plain_versions() -> None:
    texts = [*EDGES]
    for item in _items():
        texts.append(item.text)
        texts.extend(turn.text for turn in item.context)
    assert len(texts) > 4000
    for text in texts:
        assert detect_lang(text) == _reference_lang(text), text
        assert classifier.normalize(text) == _reference_normalize(text), text


def test_context_flags_agree_with_reading_every_turn_afresh() -> None:
    items = [item for item in _items() if item.context]
    assert len(items) > 500
    both = set()
    for item in items:
        context = tuple(item.context)
        for start in range(len(context)):  # every tail, as the context window moves along a call
            expected = _reference_context(context[start:])
            assert classifier.read_context(context[start:]) == expected, item.text
            both.add(expected)
    assert both == {(False, False), (False, True), (True, False), (True, True)}  # the corpus has every case


@pytest.mark.parametrize("approach", ["lexical", "hybrid"])
def test_model_prediction_agrees_with_the_plain_loop(approach: str) -> None:
    model = shipped(approach)
    rng = np.random.default_rng(7)
    inverse = model.inverse_vocab()
    for item in _items()[:300]:
        inputs = classifier.rule_pass(item.text, item.context, item.lang)
        for seg in inputs:
            feats = [*segment_features(seg, approach), "never-a-feature"]
            vector = rng.standard_normal(model.dense.shape[0]).astype(np.float32) if model.dense is not None else None
            probs, evidence = model.predict(feats, vector)
            assert (probs, evidence) == _reference_predict(model, inverse, feats, vector)


def _reference_predict(model: LinearModel, inverse: dict[int, str], feats: Sequence[str],
                       vector: np.ndarray | None) -> tuple[list[float], str]:  # type: ignore[type-arg]
    """The indices and the evidence as `predict` found them before (the probabilities are the model's own)."""
    idx = sorted({model.vocab[f] for f in feats if f in model.vocab})
    probs = model.probabilities(idx, vector)
    rows, top = model.weights[idx], int(probs.argmax())
    words = [(float(rows[k, top]), inverse[i]) for k, i in enumerate(idx) if inverse[i][0] in "wb"]
    return [float(p) for p in probs], max(words)[1][1:] if words else ""


def test_a_turn_with_no_known_feature_falls_back_to_the_bias() -> None:
    model = shipped("lexical")
    probs, evidence = model.predict(["never-a-feature", "nor-this"])
    assert evidence == ""
    assert model.labels[max(range(len(probs)), key=lambda i: probs[i])] in set(Label)
    assert probs == _reference_predict(model, model.inverse_vocab(), ["x-none"], None)[0]
