"""`spin-trainer eval`: measure the offline classifier on the labelled corpus.

Prints per-class precision/recall/F1 (all labels), macro-F1 per language over the five groups
(four SPIN types + other) and the five-group confusion matrix. Defaults to the held-out split of
the repository's rubrics/corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from trainer.cli.common import SubParsers, fail
from trainer.spin.classifier import APPROACH, APPROACHES, classify_with
from trainer.spin.corpus import SPLITS, CorpusItem, default_corpus_dir, load_corpus
from trainer.spin.evaluate import GROUPS, LangReport, evaluate, report_dict
from trainer.spin.labels import Label


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("eval", help="measure the SPIN classifier on the labelled corpus")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus folder with train.jsonl and heldout.jsonl (default: rubrics/corpus)")
    parser.add_argument("--split", choices=SPLITS, default="heldout", help="which split to score (default heldout)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--approach", choices=APPROACHES, default=APPROACH,
                        help=f"which classifier to measure (default {APPROACH}, the one `classify` uses)")
    parser.add_argument("--errors", action="store_true", help="also list the misclassified utterances")
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="K-fold cross-validation of the hybrid on the train split (for error analysis; "
                             "trains K models, a few minutes)")
    parser.set_defaults(handler=run)


def _predictor(approach: str) -> Callable[[CorpusItem], Label]:
    def predict(item: CorpusItem) -> Label:
        return classify_with(item.text, item.context, item.lang, approach).label

    return predict


def _print_report(report: LangReport, show_errors: bool) -> None:
    print(f"== {report.lang}: {report.size} utterances, accuracy {report.accuracy:.3f}, "
          f"macro-F1 (5 groups) {report.macro_f1_groups:.3f}")
    print(f"{'label':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for s in report.classes:
        print(f"{s.label:<20}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>9}")
    print("five groups:")
    for s in report.group_classes:
        print(f"  {s.label:<18}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>9}")
    print("confusion (rows gold, columns predicted):")
    short = [g[:11] for g in GROUPS]
    print(" " * 14 + "".join(f"{g:>12}" for g in short))
    for name, row in zip(short, report.confusion, strict=True):
        print(f"  {name:<12}" + "".join(f"{n:>12}" for n in row))
    if show_errors:
        for err in report.errors:
            print(f"  ✗ {err['gold']} -> {err['pred']}: {err['text']}")
    print()


def _cv_predictor(items: list[CorpusItem], k: int) -> Callable[[CorpusItem], Label]:
    from trainer.spin.crossval import cross_validate  # trains models: numpy only when asked

    predicted = cross_validate(items, k, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    by_id = {id(item): predicted[i] for i, item in enumerate(items)}
    return lambda item: by_id[id(item)]


def run(args: argparse.Namespace) -> int:
    directory: Path = args.corpus or default_corpus_dir()
    if args.cv:
        if args.cv < 2:
            return fail("--cv needs K >= 2")
        args.split, args.approach = "train", f"hybrid, {args.cv}-fold cross-validation"
    try:
        items = load_corpus(directory, args.split)
    except FileNotFoundError:
        return fail(f"no {args.split}.jsonl in {directory}; pass --corpus DIR")
    except ValueError as exc:
        return fail(str(exc))
    predict = _cv_predictor(items, args.cv) if args.cv else _predictor(args.approach)
    reports = evaluate(items, predict)
    if args.cv:
        from trainer.spin.crossval import is_hand_written

        hand = [item for item in items if is_hand_written(item)]
        hand_summary = ", ".join(f"{r.lang} {r.macro_f1_groups:.3f}" for r in evaluate(hand, predict))
        print(f"cross-validated macro-F1 on hand-written train lines only: {hand_summary}", file=sys.stderr)
    if args.json:
        print(json.dumps({"corpus": str(directory), "split": args.split, "approach": args.approach,
                          "languages": [report_dict(r) for r in reports]}, ensure_ascii=False, indent=1))
        return 0
    print(f"corpus {directory} split {args.split} approach {args.approach}\n")
    for report in reports:
        _print_report(report, args.errors)
    summary = ", ".join(f"{r.lang} {r.macro_f1_groups:.3f}" for r in reports)
    print(f"macro-F1 over five groups: {summary}")
    return 0
