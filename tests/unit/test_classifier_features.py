"""Features of the learned model (stems, crossings, client context) and the k-fold cross-validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.cli import main
from trainer.spin.classifier import classify, last_client_turn, read_context, rule_pass
from trainer.spin.corpus import CorpusItem
from trainer.spin.crossval import cross_validate, fold_of
from trainer.spin.features import client_features, text_features
from trainer.spin.hybrid import segment_features
from trainer.spin.labels import Label
from trainer.spin.stem import stem
from trainer.spin.types import ContextTurn


@pytest.mark.parametrize(("forms", "expected"), [
    (("проблемы", "проблемах", "проблемой"), "проблем"),
    (("задерживаются", "задерживается"), "задержива"),
    (("delays", "delayed", "delay"), "delay"),
])
def test_stem_joins_word_forms(forms: tuple[str, ...], expected: str) -> None:
    assert {stem(form) for form in forms} == {expected}


def test_stem_keeps_short_words_and_numbers() -> None:
    assert [stem(w) for w in ("ли", "как", "42", "", "bus")] == ["ли", "как", "42", "", "bus"]


def test_text_features_cross_question_word_with_stems_and_flag_modals() -> None:
    feats = text_features("как часто ломаются погрузчики?")
    assert "xкак|част" in feats and "sлома" in feats and "m--" in feats
    assert "mM-" in text_features("would it help if repairs took four hours")
    assert "mMN" in text_features("wouldn't it help if we")
    assert text_features("how many trucks") == text_features("how many trucks")  # deterministic


def test_client_turn_reaches_the_model_features() -> None:
    ctx = (ContextTurn("trainee", "How many trucks?"), ContextTurn("client", "Forty, and they break down a lot."))
    assert last_client_turn(ctx) == "forty, and they break down a lot."
    assert last_client_turn((ContextTurn("trainee", "Hi"),)) == ""
    item = rule_pass("What does that cost you?", ctx, "en")[0]
    feats = segment_features(item)
    assert "k+" in feats and "kbreak" in feats
    assert client_features("") == ["k-"]


def test_client_context_changes_the_label() -> None:
    """The same words after an admitted difficulty are an implication; after a plain fact they are not."""
    text = "Сколько часов в неделю на это уходит?"
    trouble = (ContextTurn("client", "Да, кран ломается пару раз в месяц."),)
    fact = (ContextTurn("client", "У нас четыре крана."),)
    assert classify(text, trouble, "ru").label is Label.IMPLICATION
    assert classify(text, fact, "ru").label is Label.PROBLEM
    en = "What does a day like that end up costing you?"
    with_problem = classify(en, (ContextTurn("client", "Yes, the crane breaks down a couple of times a month."),), "en")
    assert with_problem.confidence > classify(en, (), "en").confidence


def test_fold_of_is_stable_and_spread() -> None:
    items = [CorpusItem(f"question number {i}", "en", Label.SITUATION) for i in range(200)]
    folds = [fold_of(item, 5) for item in items]
    assert folds == [fold_of(item, 5) for item in items]
    assert set(folds) == set(range(5)) and min(folds.count(f) for f in range(5)) > 20


def _tiny_corpus() -> list[CorpusItem]:
    rows = []
    for i, topic in enumerate(["trucks", "printers", "servers", "routers", "scanners", "ovens", "pumps", "lifts"]):
        rows.append(CorpusItem(f"How many {topic} do you have at site {i}?", "en", Label.SITUATION, "hand"))
        rows.append(CorpusItem(f"How often do the {topic} break down?", "en", Label.PROBLEM, "hand"))
        rows.append(CorpusItem(f"Would it help if the {topic} never stopped?", "en", Label.NEED_PAYOFF, "gen"))
    return rows


def test_cross_validate_labels_every_item_without_its_own_fold() -> None:
    items = _tiny_corpus()
    predicted = cross_validate(items, 3)
    assert sorted(predicted) == list(range(len(items)))
    correct = sum(predicted[i] is item.label for i, item in enumerate(items))
    assert correct >= len(items) * 0.7
    with pytest.raises(ValueError, match="2 folds"):
        cross_validate(items, 1)


def test_eval_cv_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (tmp_path / "train.jsonl").open("w", encoding="utf-8") as fh:
        for item in _tiny_corpus():
            fh.write(json.dumps({"text": item.text, "lang": item.lang, "label": item.label.value,
                                 "note": item.note}) + "\n")
    assert main(["eval", "--corpus", str(tmp_path), "--cv", "2"]) == 0
    captured = capsys.readouterr()
    assert "split train" in captured.out and "2-fold cross-validation" in captured.out
    assert "macro-F1 over five groups: en" in captured.out
    assert "hand-written train lines only: en" in captured.err
    assert main(["eval", "--corpus", str(tmp_path), "--cv", "1"]) != 0


def test_cue_fixes_found_by_cross_validation() -> None:
    """Plural "обходятся" is a cost question; "подводит"/"let us down" put a problem on the table."""
    assert classify("Во сколько компании обходятся сбои за год?", (), "ru").label is Label.IMPLICATION
    assert read_context((ContextTurn("client", "Текущая система постоянно подводит."),))[0]
    assert read_context((ContextTurn("client", "The supplier let us down twice."),))[0]
    assert not read_context((ContextTurn("client", "У нас четыре крана."),))[0]


def test_sentence_vectors_are_normalised_cached_and_batch_equal() -> None:
    import numpy as np

    from trainer.spin.embed import DIM, embed, embed_many

    texts = ["How often do your trucks break down?", "Как часто ломаются погрузчики?", ""]
    one = [embed(t) for t in texts]
    assert one[0].shape == (DIM,) and abs(float(np.linalg.norm(one[0])) - 1.0) < 1e-4
    assert not one[2].any()  # no text, no vector
    assert np.array_equal(embed(texts[0]), one[0])
    assert np.allclose(embed_many(texts), np.stack(one), atol=1e-5)
    # The vector carries meaning across languages: the same question in Russian is closer than another one.
    assert float(one[0] @ one[1]) > float(one[0] @ embed("Who signs off a purchase like this?"))


@pytest.mark.parametrize("approach", ["lexical", "embedding", "hybrid"])
def test_every_learned_approach_ships_weights_and_labels(approach: str) -> None:
    from trainer.spin.classifier import classify_with
    from trainer.spin.model import shipped, uses_embeddings

    model = shipped(approach)
    assert model.approach == approach and (model.dense is not None) == uses_embeddings(approach)
    assert classify_with("How often do the scanners break down?", (), "en", approach).label is Label.PROBLEM
    assert classify_with("Сколько у вас складов?", (), "ru", approach).label is Label.SITUATION


def test_hybrid_features_hold_the_lexical_ones_and_the_vectors_the_client_turn() -> None:
    from trainer.spin.hybrid import segment_vector

    ctx = (ContextTurn("client", "The crane breaks down twice a month."),)
    item = rule_pass("What does that cost you?", ctx, "en")[0]
    lexical, embedding = segment_features(item, "lexical"), segment_features(item, "embedding")
    assert set(embedding) < set(lexical) and "wcost" in lexical and "wcost" not in embedding
    vector = segment_vector(item)
    assert vector.shape == (1024,) and vector[512:].any()
    assert not segment_vector(rule_pass("What does that cost you?", (), "en")[0])[512:].any()


def test_fit_learns_from_vectors_alone() -> None:
    """The dense part of the model is trained: an embedding-only model separates two kinds of question."""
    from trainer.spin.train import fit, training_rows

    rows = training_rows(_tiny_corpus(), "embedding")
    model = fit(rows, "embedding")
    assert model.dense is not None and model.dense.shape == (1024, len(Label)) and float(abs(model.dense).max()) > 0
    from trainer.spin.classifier import classify_with

    got = classify_with("How often do the forklifts break down?", (), "en", "embedding", model).label
    assert got is Label.PROBLEM


def test_class_weights_balance_the_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    import trainer.spin.train as train

    labels = [Label.PROBLEM] * 6 + [Label.SITUATION] * 3 + [Label.GREETING]

    def shares(power: float) -> dict[Label, float]:
        monkeypatch.setattr(train, "BALANCE", power)
        weights = train.class_weights(labels)
        assert weights.shape == (10,) and abs(float(weights.sum()) - 1.0) < 1e-6
        return {lb: float(sum(w for w, x in zip(weights, labels, strict=True) if x is lb)) for lb in set(labels)}

    assert all(abs(share - 1 / 3) < 1e-6 for share in shares(1.0).values())  # every label weighs the same
    assert abs(shares(0.0)[Label.PROBLEM] - 0.6) < 1e-6  # plain mean over rows
    half = shares(0.5)  # in between: a label's share grows with the square root of its rows
    assert abs(half[Label.PROBLEM] / half[Label.GREETING] - 6 ** 0.5) < 1e-4


def test_training_copies_after_a_client_turn() -> None:
    from trainer.spin.augment import CLIENT_FACTS, difficulty_turns, with_client_turns

    implication = CorpusItem("What does that cost you?", "en", Label.IMPLICATION, "hand",
                             (ContextTurn("client", "The crane breaks down a lot."),))
    pool = difficulty_turns([implication])
    assert pool == {"en": ["The crane breaks down a lot."], "ru": []}
    problem = CorpusItem("How often do the scanners jam?", "en", Label.PROBLEM, "hand")
    copies = with_client_turns(problem, pool)
    assert len(copies) == 1 and copies[0].label is Label.PROBLEM and copies[0].context[0].text in CLIENT_FACTS["en"]
    assert copies == with_client_turns(problem, pool)  # deterministic
    assert with_client_turns(implication, pool) == []  # lines with context are kept as written
    assert with_client_turns(CorpusItem("Understood.", "en", Label.OBJECTION_RESPONSE), pool) == []
    # No plain fact puts a problem or an objection on the table for the rules.
    for lang, facts in CLIENT_FACTS.items():
        for fact in facts:
            assert read_context((ContextTurn("client", fact),)) == (False, False), (lang, fact)


@pytest.mark.parametrize(("text", "client", "label"), [
    ("How often do the scanners break down?", "We have three sites, all in the north.", Label.PROBLEM),
    ("How many people work in the warehouse?", "Sure, go ahead.", Label.SITUATION),
    ("Как часто ломаются сканеры?", "У нас три площадки, все на севере.", Label.PROBLEM),
    ("Сколько человек работает на складе?", "Да, спрашивайте.", Label.SITUATION),
])
def test_a_client_turn_without_a_difficulty_does_not_make_an_implication(text: str, client: str,
                                                                          label: Label) -> None:
    assert classify(text, (ContextTurn("client", client),)).label is label
