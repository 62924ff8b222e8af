"""The rubric file: the shipped rubric is valid, and every error names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer.scoring.rubric import (
    CRITERION_IDS,
    Rubric,
    RubricError,
    default_rubric_path,
    load_rubric,
    parse_rubric,
)


@pytest.fixture(scope="module")
def text() -> str:
    return default_rubric_path().read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def error_of(text: str) -> RubricError:
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, "spin.yaml")
    return caught.value


def test_default_rubric_is_valid_and_complete() -> None:
    path = default_rubric_path()
    assert path.name == "spin.yaml" and path.parent.name == "rubrics" and path.is_file()
    rubric = load_rubric(path)
    assert rubric.id == "spin-cold-call" and rubric.version == 1
    assert [c.id for c in rubric.criteria] == list(CRITERION_IDS)
    assert sum(c.weight for c in rubric.criteria) == 100
    assert 0 < rubric.pass_mark <= 100
    assert [lv.id for lv in rubric.levels] == ["beginner", "developing", "proficient", "expert"]
    for item in (rubric, *rubric.levels, *rubric.criteria):
        assert item.title.en and item.title.ru
    thresholds = rubric.thresholds_of("question_count")
    assert thresholds.min_questions == 6
    length = rubric.thresholds_of("call_length")
    assert (length.min_seconds, length.max_seconds) == (120, 300)


def test_level_for_total() -> None:
    rubric = load_rubric(default_rubric_path())
    assert [rubric.level_for(t).id for t in (0, 39, 40, 64, 65, 84, 85, 100)] == [
        "beginner", "beginner", "developing", "developing", "proficient", "proficient", "expert", "expert"]


def test_weights_must_sum_to_100(text: str) -> None:
    bad = text.replace("    weight: 15\n    title: {en: SPIN sequence", "    weight: 10\n    title: {en: SPIN sequence")
    err = error_of(bad)
    line = line_of(text, "criteria:")
    assert str(err) == f"spin.yaml:{line}: criteria: weights add up to 95; they must add up to 100"
    assert err.problems[0].field == "criteria"


def test_threshold_out_of_range_names_line_and_field(text: str) -> None:
    err = error_of(text.replace("min_questions: 6", "min_questions: 0"))
    assert str(err).startswith(f"spin.yaml:{line_of(text, 'min_questions')}: criteria[1].thresholds.min_questions: ")
    assert "greater than or equal to 1" in str(err)


def test_unknown_threshold_is_an_error(text: str) -> None:
    err = error_of(text.replace("max_in_a_row: 3", "max_in_row: 3"))
    assert str(err) == (f"spin.yaml:{line_of(text, 'max_in_a_row')}: criteria[2].thresholds.max_in_row: "
                        "unknown field (check the spelling)")


def test_unknown_criterion_id_lists_the_known_ones(text: str) -> None:
    err = error_of(text.replace("- id: needs", "- id: neds"))
    message = str(err)
    assert message.startswith(f"spin.yaml:{line_of(text, '- id: needs')}: criteria[4].id: unknown criterion 'neds'")
    assert "objection_handling" in message


def test_missing_title_points_at_the_criterion(text: str) -> None:
    bad = text.replace("    title: {en: Polite close, ru: Вежливое завершение}\n", "")
    err = error_of(bad)
    assert str(err) == f"spin.yaml:{line_of(text, '- id: polite_close')}: criteria[9].title: required field is missing"


def test_missing_language_in_a_title(text: str) -> None:
    err = error_of(text.replace("title: {en: Expert, ru: Эксперт}", "title: {en: Expert}"))
    assert str(err) == f"spin.yaml:{line_of(text, 'en: Expert')}: levels[3].title.ru: required field is missing"


def test_levels_must_start_at_zero_and_rise(text: str) -> None:
    err = error_of(text.replace("min: 65", "min: 30"))
    assert str(err).startswith(f"spin.yaml:{line_of(text, 'levels:')}: levels: levels must rise: proficient")
    err = error_of(text.replace("min: 0\n", "min: 5\n"))
    assert "must start at min 0" in str(err)


def test_duplicate_criterion(text: str) -> None:
    bad = text.replace("- id: needs", "- id: implication_share")
    assert "criterion id 'implication_share' appears twice" in str(error_of(bad))


def test_call_length_band_must_be_ordered(text: str) -> None:
    err = error_of(text.replace("max_seconds: 300", "max_seconds: 100"))
    key_line = line_of(text, "min_seconds") - 1  # the "thresholds:" key above it
    assert str(err).startswith(f"spin.yaml:{key_line}: criteria[8].thresholds: ")
    assert "must be below max_seconds" in str(err)


def test_wrong_type_and_unknown_top_level_field(text: str) -> None:
    err = error_of(text.replace("version: 1", "version: first"))
    assert str(err).startswith(f"spin.yaml:{line_of(text, 'version: 1')}: version: ")
    err = error_of(text + "\nowner: someone\n")
    assert str(err) == f"spin.yaml:{len(text.splitlines()) + 2}: owner: unknown field (check the spelling)"


def test_several_problems_are_all_reported(text: str) -> None:
    err = error_of(text.replace("pass_mark: 60", "pass_mark: 160").replace("min_questions: 6", "min_questions: x"))
    assert len(err.problems) == 2
    assert [p.field for p in err.problems] == ["pass_mark", "criteria[1].thresholds.min_questions"]
    assert len(str(err).splitlines()) == 2


def test_broken_yaml_and_empty_file() -> None:
    err = error_of("id: x\nversion: [1\ntitle: y\n")
    assert str(err).startswith("spin.yaml:3: not valid YAML:")
    assert str(error_of("")) == "spin.yaml:1: the rubric is empty"
    assert str(error_of("- a\n- b\n")).startswith("spin.yaml:1: rubric: ")


def test_load_rubric_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RubricError, match=r"nope\.yaml: cannot read the rubric"):
        load_rubric(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n", encoding="utf-8")
    with pytest.raises(RubricError, match=r"broken\.yaml:1: version: required field is missing"):
        load_rubric(broken)
    assert issubclass(RubricError, ValueError)


def test_rubric_round_trips_through_its_dump(text: str) -> None:
    rubric = parse_rubric(text, "spin.yaml")
    assert Rubric.model_validate(rubric.model_dump()) == rubric
