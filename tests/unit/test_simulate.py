"""`spin-trainer simulate` passes for every persona in both languages, and it can fail."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import trainer
from trainer.cli import personas as personas_cli
from trainer.cli import simulate as simulate_cli
from trainer.engines.scripted import ScriptedEngine
from trainer.personas.bots import Interrogator, SpinTrainee
from trainer.personas.loader import load_personas
from trainer.personas.simulation import play
from trainer.spin.classifier import classify

PERSONAS = Path(trainer.__file__).resolve().parent.parent / "personas"


def run_simulate(capsys: pytest.CaptureFixture[str], **kw: object) -> tuple[int, str]:
    args = argparse.Namespace(persona=None, lang=None, engine="scripted", dir=None, seed=7, verbose=False)
    for key, value in kw.items():
        setattr(args, key, value)
    code = simulate_cli.run(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_simulate_passes_for_all_personas_and_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_simulate(capsys)
    assert code == 0, out
    listed = [p for p in load_personas(PERSONAS).values() if p.listed]
    for persona in listed:
        for lang in ("ru", "en"):
            for bot in ("spin", "pitcher", "interrogator", "injector"):
                assert any(line.split()[:3] == [persona.id, lang, bot] for line in out.splitlines())
    assert f"{len(listed) * 8}/{len(listed) * 8} calls follow the rules" in out
    assert "meeting_booked" in out and "FAIL" not in out


def test_spin_calls_last_a_plausible_time() -> None:
    engine = ScriptedEngine()
    library = load_personas(PERSONAS)
    for pid in ("logistics-director", "satisfied-supplier", "send-email", "no-time", "gatekeeper"):
        for lang in ("ru", "en"):
            result = play(library[pid], lang, SpinTrainee(), classify, engine, library.__getitem__)
            assert result.outcome == "meeting_booked" and result.passed
            assert 60 <= result.seconds <= 300, (pid, lang, result.seconds)


def test_simulate_reports_a_broken_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A persona that asks for more explicit needs than it has pains: the SPIN trainee cannot book."""
    text = (PERSONAS / "logistics-director.yaml").read_text(encoding="utf-8")
    (tmp_path / "mute.yaml").write_text(text + "meeting:\n  min_needs: 5\n", encoding="utf-8")
    code, out = run_simulate(capsys, dir=tmp_path, persona="mute", lang="en")
    assert code == 1 and "FAIL" in out


def test_interrogator_never_books() -> None:
    library = load_personas(PERSONAS)
    result = play(library["logistics-director"], "en", Interrogator(), classify, ScriptedEngine(),
                  library.__getitem__)
    assert result.outcome != "meeting_booked" and result.passed


def test_cli_arguments(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SPIN_TRAINER_OPENAI_BASE_URL", "SPIN_TRAINER_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, out = run_simulate(capsys, engine="llm")
    assert code == 2 and "OPENAI_BASE_URL" in out, "without a server, llm says what to set"
    code, _ = run_simulate(capsys, persona="nobody")
    assert code == 2


def test_personas_cli_list_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert personas_cli.run_list(argparse.Namespace(dir=None, lang="en")) == 0
    out = capsys.readouterr().out
    assert "gatekeeper" in out and "decision_maker" in out and "ru,en" in out
    assert personas_cli.run_check(argparse.Namespace(paths=[])) == 0
    assert "personas OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text((PERSONAS / "no-time.yaml").read_text(encoding="utf-8") + "patiance: 3\n", encoding="utf-8")
    assert personas_cli.run_check(argparse.Namespace(paths=[bad])) == 1
    out = capsys.readouterr().out
    assert f"{bad}:" in out and ": patiance: unknown field" in out
