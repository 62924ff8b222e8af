"""`spin-trainer classify [PATH|-] [--lang auto|ru|en]`: label utterances from JSON Lines.

Input, one per line: {"text": str, "id"?: str|int, "lang"?: "ru"|"en"|"auto",
"context"?: [{"role": "trainee"|"client", "text": str}]}; a line that is not a JSON object is one
plain utterance. A line starting with "{" or "[" is meant as JSON: if it does not parse, it is an
error (not an utterance). A JSON string line is that string; a JSON number, true/false or null is
taken as plain text.

Output, one line per non-blank input line, in order and flushed at once:
{"id", "text", "label", "spin", "confidence", "reason", "segments": [{text, label, confidence,
reason}]} or, for a bad line, {"id", "error"}. `id` is the given id or the 1-based line number
(blank lines count for numbering but get no output). Exit status 1 if any line failed, else 0.
Texts of any length are accepted; the classifier reads the first 10,000 characters.
A line's own "lang" wins over --lang; "auto" detects the language from the text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO, TextIO

from trainer.cli.common import SubParsers
from trainer.spin.classifier import classify
from trainer.spin.labels import Lang
from trainer.spin.types import ContextTurn
from trainer.textcheck import surrogate_problem

LANG_CHOICES = ("auto", "ru", "en")
MAX_CONTEXT_TURNS = 50
_Parsed = tuple[Any, str, tuple[ContextTurn, ...], str]  # id, text, context, lang


class LineError(ValueError):
    """A problem with one input line; the message says which field and how to fix it."""


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("classify", help="label trainee utterances (JSON Lines in, JSON Lines out)")
    parser.add_argument("path", nargs="?", default="-", help="JSON Lines file, or - for standard input (default)")
    parser.add_argument("--lang", choices=LANG_CHOICES, default="auto", help="language of the texts (default auto)")
    parser.set_defaults(handler=run)


def _raw_lines(path: str) -> Iterator[bytes | str]:
    """Lines as bytes when possible, so invalid UTF-8 can be reported per line."""
    if path == "-":
        stream: TextIO = sys.stdin
        buffer: BinaryIO | None = getattr(stream, "buffer", None)
        yield from (buffer if buffer is not None else stream)
        return
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise SystemExit(f"spin-trainer: cannot read {path}: {exc.strerror}") from exc
    with fh:
        yield from fh


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LineError("the line is not valid UTF-8 text; send UTF-8 encoded JSON or plain text") from None


def _parse_context(raw: Any) -> tuple[ContextTurn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LineError('"context" must be a list of {"role": "trainee"|"client", "text": "..."} objects')
    turns = []
    for n, turn in enumerate(raw[-MAX_CONTEXT_TURNS:], start=1):
        if not isinstance(turn, dict) or turn.get("role") not in ("trainee", "client"):
            raise LineError(f'"context" item {n} needs "role": "trainee" or "client"')
        if not isinstance(turn.get("text"), str):
            raise LineError(f'"context" item {n} needs "text" as a string')
        if (problem := surrogate_problem(turn["text"], f'"context" item {n}')) is not None:
            raise LineError(problem)
        turns.append(ContextTurn(turn["role"], turn["text"]))
    return tuple(turns)


def _parse_line(line: str, number: int, default_lang: str) -> _Parsed:
    """(id, text, context, lang) of one line; raises LineError for a bad one."""
    stripped = line.strip()
    record: Any = None
    if stripped[:1] in "{[":
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise LineError(f"the line looks like JSON but does not parse ({exc.msg} at column {exc.colno}); "
                            'fix the JSON, e.g. {"text": "..."}, or send plain text') from None
        if not isinstance(record, dict):
            raise LineError('expected a JSON object like {"text": "..."}, got a JSON array')
    else:
        try:
            decoded = json.loads(stripped)
        except json.JSONDecodeError:
            decoded = stripped
        record = {"text": decoded if isinstance(decoded, str) else stripped}
    return _parse_record(record, number, default_lang)


def _parse_record(record: dict[str, Any], number: int, default_lang: str) -> _Parsed:
    line_id = record.get("id", number)
    if not isinstance(line_id, str | int) or isinstance(line_id, bool):
        raise LineError('"id" must be a string or an integer')
    if isinstance(line_id, str) and (problem := surrogate_problem(line_id, '"id"')) is not None:
        raise LineError(problem)  # reported under the line's number: the id itself cannot be printed
    try:
        text = record.get("text")
        if text is None:
            raise LineError('"text" is missing; give the utterance as {"text": "..."}')
        if not isinstance(text, str):
            raise LineError(f'"text" must be a string, got {type(text).__name__}; quote the utterance')
        if (problem := surrogate_problem(text, '"text"')) is not None:
            raise LineError(problem)
        if not any(ch.isalnum() for ch in text):
            raise LineError('"text" is empty or has no letters or digits; give a non-empty utterance')
        lang = record.get("lang", default_lang)
        if lang not in LANG_CHOICES:
            raise LineError(f'"lang" must be one of {", ".join(LANG_CHOICES)}, got {lang!r}')
        return line_id, text, _parse_context(record.get("context")), lang
    except LineError as exc:
        raise _WithId(line_id, str(exc)) from None


class _WithId(LineError):
    def __init__(self, line_id: Any, message: str) -> None:
        super().__init__(message)
        self.line_id = line_id


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def classify_line(raw: bytes | str, number: int, default_lang: str) -> dict[str, Any]:
    """The output object for one non-blank input line (a result or an error)."""
    try:
        line_id, text, context, lang = _parse_line(_decode(raw), number, default_lang)
    except _WithId as exc:
        return {"id": exc.line_id, "error": str(exc)}
    except LineError as exc:
        return {"id": number, "error": str(exc)}
    chosen: Lang | None = None if lang == "auto" else lang  # type: ignore[assignment]
    result = classify(text, context, chosen).to_dict()
    return {"id": line_id, "text": text, "label": result["label"], "spin": result["spin"],
            "confidence": result["confidence"], "reason": result["reason"], "segments": result["segments"]}


def run(args: argparse.Namespace) -> int:
    failed = False
    for number, raw in enumerate(_raw_lines(args.path), start=1):
        if not raw.strip():
            continue
        out = classify_line(raw, number, args.lang)
        failed = failed or "error" in out
        _emit(out)
    return 1 if failed else 0
