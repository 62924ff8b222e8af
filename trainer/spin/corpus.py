"""Load the labelled utterance corpus (rubrics/corpus/*.jsonl) used to measure the classifier.

Each line: {"text", "lang": "ru"|"en", "label": <Label value>, "note", "context"?: [{role, text}]}.
`heldout.jsonl` is written independently of `train.jsonl` and is never used to tune cues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trainer
from trainer.spin.labels import LANGS, Label, Lang
from trainer.spin.types import ContextTurn

SPLITS = ("train", "heldout")


@dataclass(frozen=True, slots=True)
class CorpusItem:
    text: str
    lang: Lang
    label: Label
    note: str = ""
    context: tuple[ContextTurn, ...] = ()


def default_corpus_dir() -> Path:
    """The repository's rubrics/corpus, located relative to the installed package."""
    return Path(trainer.__file__).resolve().parent.parent / "rubrics" / "corpus"


def _context(raw: Any, where: str) -> tuple[ContextTurn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: 'context' must be a list of {{role, text}} objects")
    turns = []
    for turn in raw:
        if (not isinstance(turn, dict) or turn.get("role") not in ("trainee", "client")
                or not isinstance(turn.get("text"), str)):
            raise ValueError(f"{where}: each context turn needs role trainee|client and a text string")
        turns.append(ContextTurn(turn["role"], turn["text"]))
    return tuple(turns)


def parse_item(record: Any, where: str) -> CorpusItem:
    """Validate one decoded JSON record; raise ValueError naming the place and the field."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object")
    text, lang, label = record.get("text"), record.get("lang"), record.get("label")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'text' must be a non-empty string")
    if lang not in LANGS:
        raise ValueError(f"{where}: 'lang' must be one of {', '.join(LANGS)}")
    try:
        parsed = Label(str(label))
    except ValueError:
        raise ValueError(f"{where}: unknown label {label!r}") from None
    note = record.get("note", "")
    return CorpusItem(text, lang, parsed, note if isinstance(note, str) else "", _context(record.get("context"), where))


def load_corpus(directory: Path | None = None, split: str = "heldout") -> list[CorpusItem]:
    """Read `<directory>/<split>.jsonl`; a malformed line raises ValueError with file:line."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}")
    path = (directory or default_corpus_dir()) / f"{split}.jsonl"
    items: list[CorpusItem] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg})") from None
            items.append(parse_item(record, where))
    return items
