"""Text with half of a UTF-16 pair (JSON's "\\ud800" escape lets one in): refused where it would be stored
or printed, with a message naming it; labelled like any other text where it is only read."""

from __future__ import annotations

import importlib.util
import io
import json
import sys

import pytest

import trainer.cli as cli
from trainer.services.calls import CallError, clean_text
from trainer.spin import embed
from trainer.spin.classifier import APPROACH, classify, classify_with
from trainer.spin.encoder_process import EncoderProcess
from trainer.spin.labels import Label
from trainer.textcheck import unpaired_surrogate

LINE = "How many trucks \ud800 do you run?"


def test_the_first_unpaired_surrogate_is_found() -> None:
    assert unpaired_surrogate("Сколько машин? 🚚") is None  # a character beyond the BMP is no surrogate
    assert unpaired_surrogate(LINE) == 16
    assert unpaired_surrogate("a\udfffb\ud800") == 1


def test_a_turn_with_one_is_refused_with_the_place_named() -> None:
    with pytest.raises(CallError) as caught:
        clean_text(LINE, 2000)
    assert caught.value.status == 422
    assert "unpaired UTF-16 surrogate (\\ud800) at character 17" in caught.value.message
    assert clean_text("Сколько машин? 🚚", 2000) == "Сколько машин? 🚚"


def test_the_classifier_labels_it_in_this_process_and_in_the_encoders() -> None:
    here = classify(LINE, (), "en")
    assert here.label is Label.SITUATION
    child = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder)
    child.start()
    try:
        assert child.classify(LINE, (), "en") == classify_with(LINE, (), "en", APPROACH)
        assert child.pid is not None and child.restarts == 0  # an answer, not a broken child
    finally:
        child.close()


def test_the_classify_command_names_it_and_goes_on(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    present = tuple(m for m in cli.COMMAND_MODULES if importlib.util.find_spec(f"trainer.cli.{m}") is not None)
    monkeypatch.setattr(cli, "COMMAND_MODULES", present)
    lines = [json.dumps({"id": 1, "text": LINE}),
             json.dumps({"id": 2, "text": "Hi", "context": [{"role": "client", "text": "\udc00 no"}]}),
             json.dumps({"id": "\ud801", "text": "How many trucks?"}),
             json.dumps({"id": 4, "text": "How many trucks do you run?"})]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(lines).encode()), encoding="utf-8"))
    code = cli.main(["classify"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert rows[0] == {"id": 1, "error": '"text" has an unpaired UTF-16 surrogate (\\ud800) at character 17; '
                                          "send valid Unicode text"}
    assert rows[1]["id"] == 2 and '"context" item 1' in str(rows[1]["error"])
    assert rows[2]["id"] == 3 and '"id" has an unpaired UTF-16 surrogate' in str(rows[2]["error"])
    assert rows[3]["id"] == 4 and rows[3]["label"] == "situation"
