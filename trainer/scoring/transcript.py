"""Read a call transcript to score: the JSON of `spin-trainer score`, or plain text with speaker prefixes.

Uploaded calls come from people, so every error names the exact field ("turns[3].role: ...") or
line. Labelling is kept out of the parsing: `label_turns` takes the classifier as an argument,
which keeps this module pure and lets tests pass a stand-in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trainer.scoring.model import ScoringTurn
from trainer.spin.labels import LANGS, Label, Lang, Role
from trainer.spin.lang import detect_lang
from trainer.spin.types import Classification, ContextTurn
from trainer.textcheck import surrogate_problem

MAX_TURNS = 1000
MAX_TEXT_CHARS = 5000
#: Largest transcript accepted (UTF-8 bytes): an hour of talk is about 60 KB; an upload form says it back.
MAX_INPUT_BYTES = 200_000

_TOP_FIELDS = ("turns", "persona", "lang", "duration_s")
_TURN_FIELDS = ("role", "text", "at", "label")

#: Speaker prefixes of the plain-text format (lowercase), by role.
_SPEAKERS: dict[str, Role] = {
    **dict.fromkeys(("seller", "salesperson", "sales rep", "sales manager", "rep", "trainee", "agent", "caller",
                     "manager", "sales", "seller 1", "менеджер", "менеджер по продажам", "продавец", "продажник",
                     "стажер", "стажёр", "оператор", "агент", "звонящий", "я"), "trainee"),
    **dict.fromkeys(("buyer", "client", "customer", "prospect", "secretary", "gatekeeper", "receptionist", "lead",
                     "клиент", "покупатель", "заказчик", "секретарь", "собеседник", "абонент", "лпр"), "client"),
}
_LINE = re.compile(r"^\s*(?:[\[(]?(?P<time>\d{1,2}:\d{2}(?::\d{2})?)[\])]?\s+)?"
                   r"(?P<who>[^\W\d_][\w .'-]{0,24}?)\s*(?:\([^()]{0,40}\))?\s*:"
                   r"\s*(?P<text>.*)$")

Classify = Callable[[str, Sequence[ContextTurn], Lang | None], Classification]


class TranscriptError(ValueError):
    """A transcript that cannot be scored; the message names the field or line."""


@dataclass(frozen=True)
class TranscriptTurn:
    role: Role
    text: str
    at: float | None = None
    label: Label | None = None  # a label given in the input (e.g. a calibration call) wins over the classifier


@dataclass(frozen=True)
class Transcript:
    turns: tuple[TranscriptTurn, ...]
    lang: Lang
    persona: str | None = None
    duration_s: float | None = None
    lang_detected: bool = False  # True when `lang` was not given and came from the text


def parse_transcript(raw: str) -> Transcript:
    """JSON when the input starts like JSON, else the plain-text format (what `score` and an upload accept)."""
    size = len(raw.encode("utf-8", errors="replace"))
    if size > MAX_INPUT_BYTES:
        raise TranscriptError(f"transcript: {size:,} bytes; at most {MAX_INPUT_BYTES:,} bytes "
                              f"(split a longer recording into calls)")
    body = raw.lstrip("\ufeff").strip()
    if not body:
        raise TranscriptError("transcript: the input is empty")
    first_line = body.split("\n", 1)[0]
    if body[0] == "{" or (body[0] == "[" and not _LINE.match(first_line)):  # "[01:15] Seller: ..." is text
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"transcript: not valid JSON at line {exc.lineno}, column {exc.colno}: "
                                  f"{exc.msg}") from None
        return parse_transcript_json(data)
    return parse_transcript_text(body)


def parse_transcript_json(data: Any) -> Transcript:
    """Validate the `score` JSON: {"turns": [{"role", "text", "at"?, "label"?}], "persona"?, "lang"?, "duration_s"?}."""
    if not isinstance(data, dict):
        raise TranscriptError('transcript: must be a JSON object with a "turns" list')
    _no_unknown(data, _TOP_FIELDS, "")
    if "turns" not in data:
        raise TranscriptError('turns: required (a list of {"role": "trainee"|"client", "text": ...} objects)')
    raw = data["turns"]
    if not isinstance(raw, list):
        raise TranscriptError("turns: must be a list")
    if not raw:
        raise TranscriptError("turns: must hold at least one turn")
    if len(raw) > MAX_TURNS:
        raise TranscriptError(f"turns: {len(raw)} turns; at most {MAX_TURNS}")
    turns: list[TranscriptTurn] = []
    last_at: float | None = None
    last_field = ""
    for i, item in enumerate(raw):
        turn = _turn(item, f"turns[{i}]", last_at, last_field)
        if turn.at is not None:
            last_at, last_field = turn.at, f"turns[{i}].at"
        turns.append(turn)
    persona = data.get("persona")
    if persona is not None and (not isinstance(persona, str) or not persona.strip()):
        raise TranscriptError("persona: must be a non-empty string")
    if persona is not None and (problem := surrogate_problem(persona, "persona")) is not None:
        raise TranscriptError(problem)
    lang = data.get("lang")
    if lang is not None and lang not in LANGS:
        raise TranscriptError(f"lang: must be 'ru' or 'en', not {lang!r}")
    duration = data.get("duration_s")
    if duration is not None:
        duration = _number(duration, "duration_s")
        if duration <= 0:
            raise TranscriptError("duration_s: must be above 0")
    return _finish(turns, lang, persona.strip() if persona else None, duration)


def _no_unknown(obj: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in allowed:
            name = f"{where}.{key}" if where else str(key)
            raise TranscriptError(f"{name}: unknown field; allowed: {', '.join(allowed)}")


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranscriptError(f"{field}: must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value):
        raise TranscriptError(f"{field}: must be a finite number")
    return float(value)


def _turn(item: Any, where: str, previous_at: float | None, previous_field: str) -> TranscriptTurn:
    if not isinstance(item, dict):
        raise TranscriptError(f'{where}: must be an object with "role" and "text"')
    _no_unknown(item, _TURN_FIELDS, where)
    if "role" not in item:
        raise TranscriptError(f"{where}.role: required ('trainee' or 'client')")
    role = item["role"]
    if role not in ("trainee", "client"):
        raise TranscriptError(f"{where}.role: must be 'trainee' or 'client', not {role!r}")
    if "text" not in item:
        raise TranscriptError(f"{where}.text: required")
    text = item["text"]
    if not isinstance(text, str):
        raise TranscriptError(f"{where}.text: must be a string, not {type(text).__name__}")
    text = text.strip()
    if not text:
        raise TranscriptError(f"{where}.text: must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise TranscriptError(f"{where}.text: {len(text)} characters; at most {MAX_TEXT_CHARS}")
    if (problem := surrogate_problem(text, f"{where}.text")) is not None:
        raise TranscriptError(problem)
    at = None
    if item.get("at") is not None:
        at = _number(item["at"], f"{where}.at")
        if at < 0:
            raise TranscriptError(f"{where}.at: must not be negative")
        if previous_at is not None and at < previous_at:
            raise TranscriptError(f"{where}.at: {at:g} is earlier than {previous_field} ({previous_at:g})")
    label = None
    if item.get("label") is not None:
        if role != "trainee":
            raise TranscriptError(f"{where}.label: only trainee turns carry a label")
        try:
            label = Label(item["label"])
        except ValueError:
            allowed = ", ".join(lb.value for lb in Label)
            raise TranscriptError(f"{where}.label: must be one of {allowed}, not {item['label']!r}") from None
    return TranscriptTurn(role=role, text=text, at=at, label=label)


def parse_transcript_text(text: str) -> Transcript:
    """Plain text, one turn per "Speaker: words" line; other lines continue the turn above.

    Accepted speakers include Seller/Buyer, Trainee/Client, Менеджер/Клиент, Продавец/Покупатель
    (any case), optionally after a time stamp: "[01:15] Seller: ...".
    """
    _unknown_speakers(text)
    turns: list[tuple[Role, list[str], float | None, int]] = []  # role, text parts, at, line number
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        role = _SPEAKERS.get(match.group("who").strip().lower()) if match else None
        if match is None or role is None:
            if not turns:
                got = line.strip()[:40]
                raise TranscriptError(f"line {number}: expected a speaker prefix such as 'Seller:', 'Buyer:', "
                                      f"'Менеджер:' or 'Клиент:', got {got!r}")
            turns[-1][1].append(line.strip())
            continue
        at = _clock(match.group("time")) if match.group("time") else None
        previous = next((t[2] for t in reversed(turns) if t[2] is not None), None)
        if at is not None and previous is not None and at < previous:
            raise TranscriptError(f"line {number}: time {match.group('time')} is earlier than the turn before")
        turns.append((role, [match.group("text").strip()], at, number))
    if not turns:
        raise TranscriptError("transcript: no turns (write one per line, e.g. 'Seller: Hello, ...')")
    out: list[TranscriptTurn] = []
    for role, parts, at, number in turns:
        joined = " ".join(p for p in parts if p)
        if not joined:
            raise TranscriptError(f"line {number}: the turn has no text")
        if len(joined) > MAX_TEXT_CHARS:
            raise TranscriptError(f"line {number}: the turn has {len(joined)} characters; at most {MAX_TEXT_CHARS}")
        out.append(TranscriptTurn(role=role, text=joined, at=at))
    if len(out) > MAX_TURNS:
        raise TranscriptError(f"transcript: {len(out)} turns; at most {MAX_TURNS}")
    return _finish(out, None, None, None)


def _unknown_speakers(text: str) -> None:
    """Refuse names as speakers ("Tom: ... / Anna: ..."): we cannot tell which one is the seller.

    A prefix we do not know that starts two or more lines is a speaker, not a "Note:" inside a turn.
    """
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if match is None:
            continue
        who = match.group("who").strip()
        if who.lower() in _SPEAKERS or len(who.split()) > 2:
            continue
        if who.lower() in seen:
            raise TranscriptError(f"line {seen[who.lower()]}: unknown speaker {who!r}; start each line with "
                                  f"'Seller:' or 'Buyer:' ('Менеджер:' or 'Клиент:')")
        seen[who.lower()] = number


def _clock(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def _finish(turns: list[TranscriptTurn], lang: str | None, persona: str | None,
            duration: float | None) -> Transcript:
    if lang in LANGS:
        return Transcript(tuple(turns), lang, persona, duration)
    detected = detect_lang(" ".join(t.text for t in turns))
    return Transcript(tuple(turns), detected, persona, duration, lang_detected=True)


def label_turns(transcript: Transcript, classify: Classify) -> list[ScoringTurn]:
    """Scoring turns with a label on every trainee turn; each is classified with the turns before it."""
    out: list[ScoringTurn] = []
    context: list[ContextTurn] = []
    for index, turn in enumerate(transcript.turns):
        label = None
        if turn.role == "trainee":
            label = turn.label or classify(turn.text, tuple(context), transcript.lang).label
        out.append(ScoringTurn(index=index, role=turn.role, text=turn.text, label=label, at=turn.at))
        context.append(ContextTurn(role=turn.role, text=turn.text))
    return out
