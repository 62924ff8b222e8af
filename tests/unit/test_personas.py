"""Persona files: the shipped library validates; errors name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

import trainer
from trainer.personas.loader import (
    MAX_BYTES,
    PersonaError,
    PersonaIssue,
    check_paths,
    load_persona_file,
    load_personas,
    parse_persona,
)
from trainer.personas.timeslot import describe_timeslot, find_timeslot

PERSONAS = Path(trainer.__file__).resolve().parent.parent / "personas"

MINIMAL = """\
name: {ru: Иван, en: Ivan}
role: decision_maker
languages: [ru, en]
company: {ru: Завод, en: A plant}
product: {ru: Станки, en: Machine tools}
first_lines: {ru: [Алло], en: [Hello]}
"""


def test_every_shipped_persona_validates() -> None:
    personas = load_personas(PERSONAS)
    assert len(personas) >= 7
    for pid, persona in personas.items():
        assert persona.id == pid
        assert set(persona.languages) == {"ru", "en"}
        for lang in persona.languages:
            assert persona.name_for(lang) and persona.summary_for(lang)
            assert persona.first_lines[lang]
    roles = {p.role for p in personas.values()}
    assert {"gatekeeper", "decision_maker", "child"} <= roles
    assert check_paths([PERSONAS]) == []


def test_gatekeeper_transfers_to_a_decision_maker_in_the_library() -> None:
    personas = load_personas(PERSONAS)
    rules = personas["gatekeeper"].gatekeeper
    assert rules is not None
    assert personas[rules.transfer_to].role == "decision_maker"


def test_minimal_persona_parses() -> None:
    persona = parse_persona(MINIMAL, "ivan.yaml", "ivan")
    assert persona.id == "ivan" and persona.difficulty == "normal"
    assert persona.summary_for("ru").endswith("Завод")


def test_typo_in_a_field_name_names_file_line_and_field() -> None:
    text = MINIMAL + "dificulty: hard\n"
    with pytest.raises(PersonaError) as err:
        parse_persona(text, "personas/ivan.yaml", "ivan")
    [issue] = err.value.issues
    assert issue == PersonaIssue("personas/ivan.yaml", 7, "dificulty", "unknown field 'dificulty' (a typo?)")
    assert str(issue) == "personas/ivan.yaml:7: dificulty: unknown field 'dificulty' (a typo?)"


def test_nested_typo_and_missing_language_have_their_lines() -> None:
    text = MINIMAL + (
        "facts:\n"
        "  - id: fleet\n"
        "    topics: {ru: [парк], en: [fleet]}\n"
        "    txt: {ru: У нас 10 машин, en: We have 10 trucks}\n"
    )
    with pytest.raises(PersonaError) as err:
        parse_persona(text, "x.yaml", "x")
    fields = {(i.line, i.field) for i in err.value.issues}
    assert (10, "facts.0.txt") in fields
    assert (8, "facts.0.text") in fields  # missing: reported at its item
    text = MINIMAL.replace("company: {ru: Завод, en: A plant}", "company: {ru: Завод}")
    with pytest.raises(PersonaError) as err:
        parse_persona(text, "x.yaml", "x")
    [issue] = err.value.issues
    assert (issue.line, issue.field) == (4, "company")
    assert "'en'" in issue.message


def test_bad_values_are_reported() -> None:
    text = MINIMAL.replace("role: decision_maker", "role: wizard")
    with pytest.raises(PersonaError) as err:
        parse_persona(text, "x.yaml", "x")
    assert err.value.issues[0].line == 2 and err.value.issues[0].field == "role"
    text = MINIMAL + "phrases:\n  en:\n    goodbye: ['Bye {nobody}']\n"
    with pytest.raises(PersonaError) as err:
        parse_persona(text, "x.yaml", "x")
    assert "{nobody}" in err.value.issues[0].message and err.value.issues[0].line == 9
    text = MINIMAL + "phrases:\n  en:\n    sing: [La]\n"
    with pytest.raises(PersonaError) as err:
        parse_persona(text, "x.yaml", "x")
    assert "unknown phrase key" in err.value.issues[0].message


def test_yaml_syntax_size_and_id_errors() -> None:
    with pytest.raises(PersonaError) as err:
        parse_persona("name: [unclosed\nrole: x\n", "x.yaml", "x")
    assert err.value.issues[0].field == "(yaml)" and err.value.issues[0].line is not None
    with pytest.raises(PersonaError) as err:
        parse_persona("- a list\n", "x.yaml", "x")
    assert "mapping" in err.value.issues[0].message
    with pytest.raises(PersonaError) as err:
        parse_persona("#" * (MAX_BYTES + 1), "x.yaml", "x")
    assert "KiB" in err.value.issues[0].message
    with pytest.raises(PersonaError) as err:
        parse_persona("id: other\n" + MINIMAL, "x.yaml", "x")
    assert err.value.issues[0].field == "id"


def test_folder_checks_aggregate_and_find_unknown_transfer_targets(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(MINIMAL + "colour: red\n", encoding="utf-8")
    gate = MINIMAL.replace("decision_maker", "gatekeeper") + (
        "gatekeeper:\n  transfer_to: nobody\n  contacts: {ru: [директор], en: [director]}\n"
        "  reasons: {ru: [склад], en: [warehouse]}\n"
    )
    (tmp_path / "gate.yaml").write_text(gate, encoding="utf-8")
    with pytest.raises(PersonaError) as err:
        load_personas(tmp_path)
    found = {(Path(i.file).name, i.line, i.field) for i in err.value.issues}
    assert ("bad.yaml", 7, "colour") in found
    assert ("gate.yaml", 8, "gatekeeper.transfer_to") in found
    assert len(check_paths([tmp_path])) == 2
    assert check_paths([tmp_path / "good.yaml"]) == []
    assert check_paths([tmp_path / "missing.yaml"])[0].message == "does not exist"
    assert load_persona_file(tmp_path / "good.yaml").id == "good"


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("Would Tuesday at 3 pm suit you?", "en", "tue 15:00"),
    ("Could we meet on Thursday at 11:00?", "en", "thu 11:00"),
    ("tomorrow at noon then", "en", "tomorrow 12:00"),
    ("How about March 5 at 10am?", "en", "03-05 10:00"),
    ("Friday at two?", "en", "fri 14:00"),
    ("во вторник в 15:00", "ru", "tue 15:00"),
    ("Давайте завтра в 10", "ru", "tomorrow 10:00"),
    ("в среду в 3 часа дня", "ru", "wed 15:00"),
    ("5 марта в 11 утра", "ru", "03-05 11:00"),
    ("встретимся 15.03 в 14.30", "ru", "03-15 14:30"),
    ("послезавтра в девять утра", "ru", "after_tomorrow 09:00"),
    ("Let's meet next week", "en", None),
    ("Tuesday afternoon?", "en", None),
    ("Давайте встретимся", "ru", None),
    ("во вторник на 3 складах", "ru", None),
    ("в понедельник ждали 3 часа", "ru", None),
    ("We have 5 trucks at 5 sites on Monday", "en", None),
])
def test_find_timeslot(text: str, lang: str, expected: str | None) -> None:
    assert find_timeslot(text, lang) == expected  # type: ignore[arg-type]


def test_describe_timeslot_in_both_languages() -> None:
    assert describe_timeslot("tue 15:00", "ru") == "во вторник в 15:00"
    assert describe_timeslot("tue 15:00", "en") == "Tuesday at 15:00"
    assert describe_timeslot("03-05 10:00", "ru") == "5 марта в 10:00"
