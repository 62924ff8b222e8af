"""Score a real call from an uploaded transcript: the same pure scorer as practice calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainer.scoring.rubric import Rubric
from trainer.scoring.scorer import ScoringTurn, score_call
from trainer.scoring.transcript import MAX_INPUT_BYTES, Transcript, TranscriptError, label_turns, parse_transcript
from trainer.spin.classifier import classify


class UploadTooLarge(TranscriptError):
    pass


@dataclass(frozen=True)
class ScoredUpload:
    transcript: Transcript
    turns: list[ScoringTurn]
    scorecard: dict[str, Any]


def score_upload(raw: bytes | str, rubric: Rubric) -> ScoredUpload:
    """Parse (JSON or `Seller:`/`Buyer:` text), label the trainee turns, score. Errors name the line or field."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_INPUT_BYTES:
            raise UploadTooLarge(f"the transcript has {len(raw):,} bytes; at most {MAX_INPUT_BYTES:,} are accepted")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TranscriptError(f"the transcript is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    transcript = parse_transcript(raw)
    turns = label_turns(transcript, classify)
    card = score_call(turns, rubric, transcript.lang, transcript.duration_s)
    return ScoredUpload(transcript=transcript, turns=turns, scorecard=card)
