"""Pure metric maths for the classifier evaluation: per-class P/R/F1, macro-F1, confusion.

The headline figure is macro-F1 over five groups: the four SPIN types and `other` (every
non-SPIN act folded together), computed per language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trainer.spin.corpus import CorpusItem
from trainer.spin.labels import LANGS, SPIN_LABELS, Label, Lang

GROUPS: tuple[str, ...] = ("situation", "problem", "implication", "need_payoff", "other")


def group_of(label: Label | str) -> str:
    """The five-group name: the SPIN type itself, else "other"."""
    label = Label(label)
    return label.value if label in SPIN_LABELS else "other"


@dataclass(frozen=True, slots=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


def class_scores(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[ClassScore]:
    """Precision, recall and F1 of each label (0 when undefined), with its gold support."""
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        predicted = sum(1 for p in pred if p == label)
        support = sum(1 for g in gold if g == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScore(label, precision, recall, f1, support))
    return scores


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean F1 over the labels that occur in gold or predictions."""
    present = [s for s in class_scores(gold, pred, labels) if s.support or s.label in pred]
    return sum(s.f1 for s in present) / len(present) if present else 0.0


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Rows are gold labels, columns predicted labels, in the order of `labels`."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g]][index[p]] += 1
    return matrix


@dataclass(frozen=True, slots=True)
class LangReport:
    lang: Lang
    size: int
    accuracy: float
    macro_f1_groups: float
    classes: list[ClassScore]
    group_classes: list[ClassScore]
    confusion: list[list[int]]
    errors: list[dict[str, str]] = field(default_factory=list)


def evaluate(items: Sequence[CorpusItem], predict: Callable[[CorpusItem], Label]) -> list[LangReport]:
    """Run `predict` over the items and report per language."""
    reports = []
    labels = [label.value for label in Label]
    for lang in LANGS:
        subset = [item for item in items if item.lang == lang]
        if not subset:
            continue
        gold = [item.label.value for item in subset]
        pred = [predict(item).value for item in subset]
        gold_g = [group_of(g) for g in gold]
        pred_g = [group_of(p) for p in pred]
        errors = [{"text": item.text, "gold": g, "pred": p}
                  for item, g, p in zip(subset, gold, pred, strict=True) if g != p]
        reports.append(LangReport(
            lang=lang,
            size=len(subset),
            accuracy=sum(g == p for g, p in zip(gold, pred, strict=True)) / len(subset),
            macro_f1_groups=macro_f1(gold_g, pred_g, GROUPS),
            classes=class_scores(gold, pred, labels),
            group_classes=class_scores(gold_g, pred_g, GROUPS),
            confusion=confusion(gold_g, pred_g, GROUPS),
            errors=errors,
        ))
    return reports


def report_dict(report: LangReport) -> dict[str, Any]:
    """A JSON-ready view of one language's report."""
    def rows(scores: list[ClassScore]) -> list[dict[str, Any]]:
        return [{"label": s.label, "precision": round(s.precision, 3), "recall": round(s.recall, 3),
                 "f1": round(s.f1, 3), "support": s.support} for s in scores]

    return {
        "lang": report.lang, "size": report.size, "accuracy": round(report.accuracy, 3),
        "macro_f1_groups": round(report.macro_f1_groups, 3), "classes": rows(report.classes),
        "groups": rows(report.group_classes), "confusion": {"labels": list(GROUPS), "matrix": report.confusion},
        "errors": report.errors,
    }
