"""`spin-trainer score PATH|-`: score a call transcript (JSON or plain text) and print the scorecard JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trainer.cli.common import SubParsers, fail, open_input


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "score", help="score a call transcript and print the scorecard JSON",
        description='Reads {"turns": [{"role": "trainee"|"client", "text": ..., "at"?: seconds}], "persona"?, '
                    '"lang"?, "duration_s"?} or plain text with speaker prefixes ("Seller: ...", "Клиент: ..."), '
                    "labels the trainee's questions and prints the scorecard.")
    p.add_argument("path", metavar="PATH", help="transcript file, or - for standard input")
    p.add_argument("--rubric", metavar="PATH", help="rubric YAML (default: rubrics/spin.yaml)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from trainer.scoring.rubric import RubricError, default_rubric_path, load_rubric
    from trainer.scoring.scorer import score_call
    from trainer.scoring.transcript import TranscriptError, label_turns, parse_transcript

    stream = open_input(args.path)
    try:
        raw = stream.read()
    finally:
        if stream is not sys.stdin:
            stream.close()
    try:
        transcript = parse_transcript(raw)
    except TranscriptError as exc:
        return fail(str(exc))
    try:
        rubric = load_rubric(Path(args.rubric) if args.rubric else default_rubric_path())
    except RubricError as exc:
        return fail("; ".join(str(exc).splitlines()))
    from trainer.spin.classifier import classify

    turns = label_turns(transcript, classify)
    card = score_call(turns, rubric, transcript.lang, transcript.duration_s)
    print(json.dumps(card, indent=2, ensure_ascii=False))
    return 0
