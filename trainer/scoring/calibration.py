"""Calibration calls: a good and a poor version of the same call for every listed persona, in both languages.

They live in `rubrics/calibration/` as ordinary `spin-trainer score` inputs (<persona>.<lang>.good.json
and .poor.json) with a label on every trainee turn, and `expected.yaml` beside them holds the
named checks and outcome each call must get. Keeping the expectations out of the call files keeps
the `score` input contract unchanged: any calibration file can be fed to `spin-trainer score`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from trainer.scoring.rubric import Rubric, default_rubric_path
from trainer.scoring.scorer import score_call
from trainer.scoring.transcript import Classify, Transcript, label_turns, parse_transcript
from trainer.spin.labels import Lang

Version = Literal["good", "poor"]
VERSIONS: tuple[Version, ...] = ("good", "poor")


class CalibrationError(ValueError):
    """A calibration folder that is incomplete or malformed; the message names the file."""


@dataclass(frozen=True)
class Expected:
    outcome: str
    checks: dict[str, bool]


@dataclass(frozen=True)
class CalibrationCall:
    persona: str
    lang: Lang
    version: Version
    path: Path

    @property
    def key(self) -> str:
        return f"{self.persona}.{self.lang}.{self.version}"

    def transcript(self) -> Transcript:
        return parse_transcript(self.path.read_text(encoding="utf-8"))


def calibration_dir() -> Path:
    return default_rubric_path().parent / "calibration"


def list_calls(directory: Path | None = None) -> tuple[CalibrationCall, ...]:
    """Every calibration call file, sorted by name; the name must match the persona and lang inside."""
    folder = directory or calibration_dir()
    out: list[CalibrationCall] = []
    for path in sorted(folder.glob("*.json")):
        parts = path.stem.split(".")
        if len(parts) != 3 or parts[1] not in ("ru", "en") or parts[2] not in VERSIONS:
            raise CalibrationError(f"{path.name}: expected a name like <persona>.<ru|en>.<good|poor>.json")
        persona, lang, version = parts
        call = CalibrationCall(persona, lang, version, path)  # type: ignore[arg-type]
        transcript = call.transcript()
        if transcript.persona != persona or transcript.lang != lang or transcript.lang_detected:
            raise CalibrationError(f"{path.name}: \"persona\" and \"lang\" inside must be {persona!r} and {lang!r}")
        out.append(call)
    return tuple(out)


@functools.cache
def _expected_cached(path: Path) -> dict[str, Expected]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("calls"), dict):
        raise CalibrationError(f"{path}: must hold a 'calls' mapping")
    out: dict[str, Expected] = {}
    for key, item in data["calls"].items():
        if not isinstance(item, dict) or set(item) != {"outcome", "checks"}:
            raise CalibrationError(f"{path}: calls.{key}: needs exactly 'outcome' and 'checks'")
        checks = item["checks"]
        if not isinstance(checks, dict) or not all(isinstance(v, bool) for v in checks.values()):
            raise CalibrationError(f"{path}: calls.{key}.checks: a mapping of check name to true/false")
        out[str(key)] = Expected(outcome=str(item["outcome"]), checks=dict(checks))
    return out


def load_expected(directory: Path | None = None) -> dict[str, Expected]:
    """Expected outcome and named checks by call key ("gatekeeper.en.good")."""
    return _expected_cached((directory or calibration_dir()) / "expected.yaml")


def score_calibration_call(call: CalibrationCall, rubric: Rubric, classify: Classify) -> dict[str, Any]:
    """The scorecard of a calibration call; labels given in the file win over `classify`."""
    transcript = call.transcript()
    return score_call(label_turns(transcript, classify), rubric, transcript.lang, transcript.duration_s)


def strip_labels(transcript: Transcript) -> Transcript:
    """The same call without its hand labels, so the classifier has to label every trainee turn."""
    return replace(transcript, turns=tuple(replace(t, label=None) for t in transcript.turns))
