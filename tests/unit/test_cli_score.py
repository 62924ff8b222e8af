"""`spin-trainer score PATH|-`: the contract other tools rely on, run in-process."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import trainer.cli
from trainer.scoring.rubric import default_rubric_path

CONTRACT_CALL = {"lang": "en", "turns": [
    {"role": "client", "text": "Hello, Miller Print, Anna speaking."},
    {"role": "trainee",
     "text": "Hi Anna, this is Tom from Fastline Couriers. Are you the person who arranges deliveries?"},
    {"role": "client", "text": "Yes, that's me."},
    {"role": "trainee", "text": "How do you send proofs to clients today?"},
    {"role": "client", "text": "A courier firm, but they are often late."},
    {"role": "trainee", "text": "What happens when a proof arrives late?"},
    {"role": "client", "text": "The client misses the print slot and we lose the job."},
    {"role": "trainee", "text": "How would it help if proofs always arrived within two hours?"},
    {"role": "client", "text": "We'd keep those jobs."},
    {"role": "trainee", "text": "Could we meet on Tuesday at 11 to look at your routes?"},
    {"role": "client", "text": "Tuesday at 11 works."},
    {"role": "trainee", "text": "Great, see you then. Thank you, Anna, have a good day!"}]}

PITCHY_EN = """\
Buyer: Miller Print, Anna speaking.
Seller: Hi, this is Tom from Fastline Couriers. We offer the fastest same-day delivery
  in the city at the best prices.
Buyer: We already have a courier firm.
Seller: Your current courier is unreliable, everybody knows that. We are much better.
Buyer: Not interested, thanks.
Seller: Why not? Don't you care about your clients?
Buyer: I said no. Goodbye.
Seller: Fine.
"""

GOOD_RU = """\
Клиент: АвтоМастер, слушаю.
Менеджер: Добрый день! Меня зовут Ольга, компания «ТехноСнаб». Подскажите, вы отвечаете за закупку запчастей?
Клиент: Да, я.
Менеджер: Как вы сейчас заказываете запчасти?
Клиент: У одного поставщика, по телефону.
Менеджер: Вас устраивает, как быстро приходят запчасти?
Клиент: Не всегда, бывает, задерживают на неделю.
Менеджер: А что происходит с ремонтом, когда деталь задерживается?
Клиент: Машина стоит, клиент злится, иногда уходит к конкурентам.
Менеджер: Насколько важно для вас, чтобы детали приходили на следующий день?
Клиент: Очень важно, это бы помогло удержать клиентов.
Менеджер: Давайте я подъеду и покажу, как это можно организовать. Вас устроит вторник в 15:00?
Клиент: Да, давайте во вторник в 15:00.
Менеджер: Отлично, до встречи во вторник. Спасибо, хорошего дня!
"""

PITCHY_RU = """\
Клиент: АвтоМастер, слушаю.
Продавец: Здравствуйте! Компания «ТехноСнаб». Мы предлагаем запчасти с доставкой за один день и лучшие цены!
Покупатель: У нас уже есть поставщик.
Продавец: Ваш поставщик ненадёжный, они всех обманывают. Мы гораздо лучше.
Покупатель: Нам это не интересно.
Продавец: Почему нет? Разве вы не хотите сэкономить?
Покупатель: Нет. До свидания.
Продавец: Ну ладно.
"""


@pytest.fixture(autouse=True)
def only_score_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the parser with the score command alone, so other commands' modules cannot break this test."""
    monkeypatch.setattr(trainer.cli, "COMMAND_MODULES", ("score",))


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str],
        stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = trainer.cli.main(["score", *args])
    out, err = capsys.readouterr()
    return code, out, err


def score(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str) -> dict[str, Any]:
    code, out, err = run(monkeypatch, capsys, ["-"], stdin)
    assert code == 0, err
    card: dict[str, Any] = json.loads(out)
    return card


def test_contract_call_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, ["-"], json.dumps(CONTRACT_CALL))
    assert code == 0 and err == ""
    assert out.startswith('{\n  "total": ')  # indent=2
    card = json.loads(out)
    assert {"total", "passed", "level", "outcome", "counts", "criteria", "checks", "rubric"} <= set(card)
    assert card["checks"]["meeting_secured"] and card["checks"]["right_person_checked"]
    assert card["checks"]["ended_politely"] and card["checks"]["next_step_agreed"]
    assert card["outcome"] == "advance" and card["passed"]
    assert card["rubric"] == {"id": "spin-cold-call", "version": 1}
    for c in card["criteria"]:
        assert {"id", "title", "score", "max", "evidence", "tip"} <= set(c)
    assert card["counts"]["implication"] >= 1 and card["counts"]["need_payoff"] >= 1


def test_same_input_gives_identical_output(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    first = run(monkeypatch, capsys, ["-"], GOOD_RU)
    second = run(monkeypatch, capsys, ["-"], GOOD_RU)
    assert first == second and first[0] == 0


@pytest.mark.parametrize(("good", "pitchy"), [
    (json.dumps(CONTRACT_CALL), PITCHY_EN),
    (GOOD_RU, PITCHY_RU),
])
def test_good_call_scores_higher_with_the_real_classifier(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str],
                                                          good: str, pitchy: str) -> None:
    good_card = score(monkeypatch, capsys, good)
    pitchy_card = score(monkeypatch, capsys, pitchy)
    assert good_card["total"] > pitchy_card["total"]
    assert good_card["passed"] and not pitchy_card["passed"]
    assert pitchy_card["checks"]["pitched_before_needs"] and pitchy_card["checks"]["competitor_criticised"]
    assert pitchy_card["checks"]["negative_reaction_to_refusal"] and not pitchy_card["checks"]["ended_politely"]
    assert good_card["lang"] == pitchy_card["lang"]


def test_plain_text_file_in_russian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "call.txt"
    path.write_text(GOOD_RU, encoding="utf-8")
    code, out, _ = run(monkeypatch, capsys, [str(path)])
    card = json.loads(out)
    assert code == 0 and card["lang"] == "ru" and card["checks"]["meeting_secured"]
    assert "«" in out  # ensure_ascii=False keeps Russian readable
    assert card["criteria"][0]["title"] == "Последовательность SPIN"


@pytest.mark.parametrize(("stdin", "field"), [
    ('{"turns": [{"role": "client", "text": "Hi"}, {"role": "seller", "text": "Hello"}]}',
     "turns[1].role: must be 'trainee' or 'client', not 'seller'"),
    ('{"turns": [{"role": "client", "text": "Hi", "at": "soon"}]}', "turns[0].at: must be a number of seconds"),
    ('{"turns": []}', "turns: must hold at least one turn"),
    ('{"turns": [}', "transcript: not valid JSON at line 1, column 12"),
    ("Hello there\nSeller: Hi", "line 1: expected a speaker prefix"),
    ("", "transcript: the input is empty"),
])
def test_bad_input_is_one_clear_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                stdin: str, field: str) -> None:
    code, out, err = run(monkeypatch, capsys, ["-"], stdin)
    assert code == 2 and out == ""
    assert err.startswith(f"spin-trainer: {field}")
    assert err.count("\n") == 1


def test_rubric_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    custom = tmp_path / "v2.yaml"
    custom.write_text(default_rubric_path().read_text(encoding="utf-8").replace("version: 1", "version: 2"),
                      encoding="utf-8")
    code, out, _ = run(monkeypatch, capsys, ["-", "--rubric", str(custom)], json.dumps(CONTRACT_CALL))
    assert code == 0 and json.loads(out)["rubric"] == {"id": "spin-cold-call", "version": 2}
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nversion: 1\n", encoding="utf-8")
    code, out, err = run(monkeypatch, capsys, ["-", "--rubric", str(broken)], json.dumps(CONTRACT_CALL))
    assert code == 2 and out == ""
    assert err.startswith(f"spin-trainer: {broken}:1: title: required field is missing")
    assert err.count("\n") == 1
