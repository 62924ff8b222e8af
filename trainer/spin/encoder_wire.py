"""The frames the server and its encoder child exchange (trainer.spin.encoder_process has the protocol),
shared by the child, the server's blocking channels and its event-loop channel (trainer.spin.encoder_ahead).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import IO

from trainer.spin.labels import Label, Lang
from trainer.spin.types import Classification, ContextTurn, Segment

#: A frame's header: its kind (one byte) and its payload's length.
HEADER = struct.Struct("!cI")


class EncoderProcessError(RuntimeError):
    """The child failed: it died, timed out or answered something unreadable."""


class LabelRefused(EncoderProcessError):
    """The child is well but its classifier raised on this line (it says why): the line is labelled here."""


def read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EncoderProcessError(f"the encoder process closed its pipe ({len(data or b'')} of {size} bytes read)")
    return data


def read_frame(stream: IO[bytes]) -> tuple[bytes, bytes]:
    kind, size = HEADER.unpack(read_exact(stream, HEADER.size))
    return kind, read_exact(stream, size) if size else b""


def frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def write_frame(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    stream.write(frame(kind, payload))
    stream.flush()


def label_request(text: str, context: Sequence[ContextTurn], lang: Lang | None) -> bytes:
    """A label request's payload. ASCII JSON: a line may hold an unpaired surrogate, which UTF-8 cannot
    carry (trainer.textcheck)."""
    return json.dumps({"text": text, "context": [[turn.role, turn.text] for turn in context], "lang": lang}).encode()


def label_json(result: Classification) -> bytes:
    """A label on the wire: every field, confidences unrounded (JSON gives a float back exactly)."""
    segments = [[seg.text, seg.label.value, seg.confidence, seg.reason] for seg in result.segments]
    return json.dumps([result.label.value, result.confidence, result.reason, result.lang, segments]).encode()


def label_from_json(payload: bytes) -> Classification:
    label, confidence, reason, lang, segments = json.loads(payload)
    if lang not in ("ru", "en"):
        raise ValueError(f"language {lang!r}")
    return Classification(Label(label), float(confidence), str(reason), lang,
                          tuple(Segment(str(text), Label(seg_label), float(conf), str(why))
                                for text, seg_label, conf, why in segments))


def label_answer(kind: bytes, payload: bytes) -> Classification:
    """The label a child answered; LabelRefused when its classifier raised, EncoderProcessError for garbage."""
    if kind == b"E":
        raise LabelRefused(payload.decode("utf-8", "replace"))
    if kind != b"C":
        raise EncoderProcessError(f"an answer of kind {kind!r} to a label request")
    try:
        return label_from_json(payload)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise EncoderProcessError(f"an unreadable label ({type(exc).__name__}: {exc})") from None
