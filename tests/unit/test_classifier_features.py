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
