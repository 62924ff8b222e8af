"""The `spin-trainer classify` and `eval` commands, run in process through trainer.cli.main."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

import trainer.cli as cli


@pytest.fixture(autouse=True)
def _only_present_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other commands are built in parallel; register only the modules that exist."""
    present = tuple(m for m in cli.COMMAND_MODULES if importlib.util.find_spec(f"trainer.cli.{m}") is not None)
    monkeypatch.setattr(cli, "COMMAND_MODULES", present)


def _feed(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data: bytes,
         *args: str) -> tuple[int, list[dict[str, object]]]:
    _feed(monkeypatch, data)
    code = cli.main(["classify", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def test_contract_mixed_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        json.dumps({"id": "q1", "text": "How many trucks do you run?"}).encode(),
        "Соедините с отделом закупок".encode(),
        b'{"text": "broken',
        json.dumps({"text": 5}).encode(),
        json.dumps({"text": "   "}).encode(),
        json.dumps({"text": "Why is that important? " * 2200}).encode(),
        b"\xff\xfe\x00\x81junk",
        json.dumps({"id": 42, "text": "What happens then?",
                    "context": [{"role": "client", "text": "Our trucks break down a lot."}]}).encode(),
    ]
    code, rows = _run(monkeypatch, capsys, b"\n".join(lines) + b"\n")
    assert code == 1
    assert len(rows) == len(lines)
    assert [r["id"] for r in rows] == ["q1", 2, 3, 4, 5, 6, 7, 42]
    ok = rows[0]
    assert set(ok) == {"id", "text", "label", "spin", "confidence", "reason", "segments"}
    assert ok["label"] == ok["spin"] == "situation"
    assert isinstance(ok["segments"], list) and set(ok["segments"][0]) == {"text", "label", "confidence", "reason"}
    assert rows[1]["label"] == "routing" and rows[1]["spin"] is None
    assert "JSON" in str(rows[2]["error"])
    assert '"text"' in str(rows[3]["error"]) and "string" in str(rows[3]["error"])
    assert "empty" in str(rows[4]["error"])
    assert len(str(rows[5]["text"])) > 50_000 and rows[5]["label"] == "need_payoff"
    assert "UTF-8" in str(rows[6]["error"])
    assert rows[7]["label"] == "implication"


def test_all_good_lines_exit_zero_and_blank_lines_skipped(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = "Do you have two minutes?\n\n{\"text\": \"Сколько у вас машин?\", \"lang\": \"ru\"}\n".encode()
    code, rows = _run(monkeypatch, capsys, data)
    assert code == 0
    assert [r["id"] for r in rows] == [1, 3]
    assert [r["label"] for r in rows] == ["permission", "situation"]


def test_bad_context_and_lang_name_the_field(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"id": "c", "text": "Hi", "context": "nope"}),
             json.dumps({"text": "Hi", "context": [{"role": "boss", "text": "x"}]}),
             json.dumps({"text": "Hi", "lang": "de"}), "[1, 2]"]
    code, rows = _run(monkeypatch, capsys, "\n".join(lines).encode())
    assert code == 1
    assert rows[0] == {"id": "c", "error": rows[0]["error"]} and '"context"' in str(rows[0]["error"])
    assert "role" in str(rows[1]["error"])
    assert '"lang"' in str(rows[2]["error"])
    assert "object" in str(rows[3]["error"])


def test_lang_flag_and_file_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "Сколько у вас складов?"}\n', encoding="utf-8")
    assert cli.main(["classify", str(path), "--lang", "ru"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["label"] == "situation" and "факты" in str(row["reason"])


def test_eval_prints_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    langs = {r["lang"]: r for r in report["languages"]}
    assert set(langs) == {"en", "ru"}
    assert len(langs["en"]["confusion"]["matrix"]) == 5
    assert len(langs["ru"]["classes"]) == 13
    assert cli.main(["eval", "--split", "train"]) == 0
    text = capsys.readouterr().out
    assert "macro-F1 over five groups" in text and "confusion" in text


def test_eval_missing_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval", "--corpus", str(tmp_path)]) == 2
    assert "heldout.jsonl" in capsys.readouterr().err
