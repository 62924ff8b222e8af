"""The rubric: which criteria a call is scored on, their weights and thresholds, the pass mark, levels.

It lives in `rubrics/spin.yaml` so a trainer can tune it without touching code. A scorecard
records the rubric id and version it was computed with; a changed rubric gets a new version,
and rescoring adds a new scorecard rather than editing the old one. Validation is strict
(unknown keys are errors) and every error names the file, the line and the field, because the
people editing this file are trainers, not programmers.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import trainer
from trainer.spin.labels import Lang

_ID = r"^[a-z][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(_Strict):
    """A text in both product languages."""

    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: Lang) -> str:
        return self.ru if lang == "ru" else self.en


class Level(_Strict):
    id: str = Field(pattern=_ID)
    min: int = Field(ge=0, le=100, description="lowest total (0..100) that reaches this level")
    title: LocalText


# Thresholds, one model per criterion: a typo in a threshold name is an error, not a silent default.

class SpinSequenceThresholds(_Strict):
    regression_drop: int = Field(default=2, ge=1, le=3, description="stages back that count as a regression")
    max_regressions: int = Field(default=1, ge=0, description="regressions tolerated for half the order credit")


class QuestionCountThresholds(_Strict):
    min_questions: int = Field(default=6, ge=1)
    min_per_minute: float = Field(default=1.0, ge=0)
    front_loaded_share: float = Field(default=0.6, gt=0, le=1,
                                      description="more questions than this share in the first third is front-loaded")


class SituationOveruseThresholds(_Strict):
    max_share: float = Field(default=0.5, gt=0, le=1, description="share of SPIN questions that may be Situation")
    max_in_a_row: int = Field(default=3, ge=1)


class ImplicationShareThresholds(_Strict):
    target_share: float = Field(default=0.4, gt=0, le=1, description="share of I+N among SPIN questions")


class NoThresholds(_Strict):
    pass


class ObjectionThresholds(_Strict):
    max_refusals: int = Field(default=3, ge=1, description="refusals after which a polite end is right")


class NextStepThresholds(_Strict):
    call_share: float = Field(default=0.7, ge=0, le=1, description="credit for an agreed call instead of a meeting")
    proposed_share: float = Field(default=0.3, ge=0, le=1,
                                  description="credit for proposing a day and time the client did not take")


class CallLengthThresholds(_Strict):
    min_seconds: float = Field(default=120, gt=0)
    max_seconds: float = Field(default=300, gt=0)
    words_per_minute: float = Field(default=150, gt=0, description="speech rate for estimating untimed calls")
    turn_gap_seconds: float = Field(default=1.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> CallLengthThresholds:
        if self.min_seconds >= self.max_seconds:
            raise ValueError(f"min_seconds ({self.min_seconds:g}) must be below max_seconds ({self.max_seconds:g})")
        return self


class _Criterion(_Strict):
    weight: int = Field(ge=1, le=100, description="points this criterion is worth (all weights sum to 100)")
    title: LocalText


class SpinSequenceCriterion(_Criterion):
    id: Literal["spin_sequence"]
    thresholds: SpinSequenceThresholds = Field(default_factory=SpinSequenceThresholds)


class QuestionCountCriterion(_Criterion):
    id: Literal["question_count"]
    thresholds: QuestionCountThresholds = Field(default_factory=QuestionCountThresholds)


class SituationOveruseCriterion(_Criterion):
    id: Literal["situation_overuse"]
    thresholds: SituationOveruseThresholds = Field(default_factory=SituationOveruseThresholds)


class ImplicationShareCriterion(_Criterion):
    id: Literal["implication_share"]
    thresholds: ImplicationShareThresholds = Field(default_factory=ImplicationShareThresholds)


class NeedsCriterion(_Criterion):
    id: Literal["needs"]
    thresholds: NoThresholds = Field(default_factory=NoThresholds)


class ObjectionHandlingCriterion(_Criterion):
    id: Literal["objection_handling"]
    thresholds: ObjectionThresholds = Field(default_factory=ObjectionThresholds)


class RightPersonCriterion(_Criterion):
    id: Literal["right_person"]
    thresholds: NoThresholds = Field(default_factory=NoThresholds)


class NextStepCriterion(_Criterion):
    id: Literal["next_step"]
    thresholds: NextStepThresholds = Field(default_factory=NextStepThresholds)


class CallLengthCriterion(_Criterion):
    id: Literal["call_length"]
    thresholds: CallLengthThresholds = Field(default_factory=CallLengthThresholds)


class PoliteCloseCriterion(_Criterion):
    id: Literal["polite_close"]
    thresholds: NoThresholds = Field(default_factory=NoThresholds)


Criterion = Annotated[
    SpinSequenceCriterion | QuestionCountCriterion | SituationOveruseCriterion | ImplicationShareCriterion
    | NeedsCriterion | ObjectionHandlingCriterion | RightPersonCriterion | NextStepCriterion | CallLengthCriterion
    | PoliteCloseCriterion,
    Field(discriminator="id"),
]
CRITERION_IDS: tuple[str, ...] = (
    "spin_sequence", "question_count", "situation_overuse", "implication_share", "needs", "objection_handling",
    "right_person", "next_step", "call_length", "polite_close",
)


class Rubric(_Strict):
    id: str = Field(pattern=_ID)
    version: int = Field(ge=1)
    title: LocalText
    pass_mark: int = Field(ge=0, le=100)
    levels: list[Level] = Field(min_length=1)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _levels_ordered(cls, levels: list[Level]) -> list[Level]:
        if levels[0].min != 0:
            raise ValueError(f"the first level ({levels[0].id}) must start at min 0 so every total has a level")
        for before, after in pairwise(levels):
            if after.min <= before.min:
                raise ValueError(f"levels must rise: {after.id} (min {after.min}) comes after "
                                 f"{before.id} (min {before.min})")
        _unique([lv.id for lv in levels], "level")
        return levels

    @field_validator("criteria")
    @classmethod
    def _weights_sum(cls, criteria: list[Criterion]) -> list[Criterion]:
        _unique([c.id for c in criteria], "criterion")
        total = sum(c.weight for c in criteria)
        if total != 100:
            raise ValueError(f"weights add up to {total}; they must add up to 100")
        return criteria

    def level_for(self, total: int) -> Level:
        """The highest level whose `min` the total reaches."""
        return [lv for lv in self.levels if lv.min <= total][-1]

    def thresholds_of(self, criterion_id: str) -> Any:
        """The thresholds of a criterion in this rubric, or None when the rubric leaves it out."""
        return next((c.thresholds for c in self.criteria if c.id == criterion_id), None)


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} id {item!r} appears twice")
        seen.add(item)


@dataclass(frozen=True)
class RubricProblem:
    """One validation problem, located for an editor: 1-based line and a dotted field path."""

    line: int
    field: str
    message: str


class RubricError(ValueError):
    """A rubric that cannot be used; the message names file, line and field of each problem."""

    def __init__(self, message: str, problems: tuple[RubricProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def default_rubric_path() -> Path:
    return Path(trainer.__file__).resolve().parent.parent / "rubrics" / "spin.yaml"


def load_rubric(path: Path) -> Rubric:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError(f"{path}: cannot read the rubric: {exc.strerror or exc}") from exc
    return parse_rubric(text, str(path))


def parse_rubric(text: str, source: str) -> Rubric:
    """Validate rubric YAML; `source` (a file name) prefixes every error."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RubricError(f"{source}:{line}: not valid YAML: {problem}",
                          (RubricProblem(line, "", f"not valid YAML: {problem}"),)) from exc
    if data is None:
        raise RubricError(f"{source}:1: the rubric is empty", (RubricProblem(1, "", "the rubric is empty"),))
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        problems = tuple(_problem(root, err) for err in exc.errors(include_url=False))
        lines = [f"{source}:{p.line}: {p.field or 'rubric'}: {p.message}" for p in problems]
        raise RubricError("\n".join(lines), problems) from None


def _problem(root: yaml.Node | None, err: Any) -> RubricProblem:
    loc = tuple(err["loc"])
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "id")
        given = (err.get("ctx") or {}).get("tag")
        known = ", ".join(CRITERION_IDS)
        message = f"unknown criterion {given!r}; known: {known}" if given else f"required; one of: {known}"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "extra_forbidden":
        message = "unknown field (check the spelling)"
    line, path = _locate(root, loc)
    return RubricProblem(line, path, message)


def _locate(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, str]:
    """Follow a pydantic error location through the YAML node tree: the line and a readable path.

    Parts that are not in the file are skipped (a union's tag) unless they are last (a missing
    field, reported at its parent's line).
    """
    node = root
    line = root.start_mark.line + 1 if root is not None else 1
    path: list[str | int] = []
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            hit = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if hit is None:
                if last:
                    path.append(part)
                continue
            line, node = hit[0].start_mark.line + 1, hit[1]
            path.append(part)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
            path.append(part)
        else:
            path.append(part)
            node = None
    return line, "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if j else str(p)) for j, p in enumerate(path))
