"""Transcripts: filters, CSV and JSON export, comments and label corrections, agreement with the classifier."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from tests.api.conftest import Live
from tests.api.test_manage_pages import make_call, signed_in
from tests.api.test_manage_personas import audit_actions
from tests.api.test_web_pages import csrf_of
from trainer.db.models import LabelCorrection, Turn
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
from trainer.services.review import agreement_of


def export_rows(live: Live, query: str = "") -> list[dict[str, str]]:
    res = live.client.get(f"/manage/calls.csv{query}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/csv")
    assert res.headers["content-disposition"] == 'attachment; filename="calls.csv"'
    return list(csv.DictReader(io.StringIO(res.text.lstrip("\ufeff"))))


def test_filters_and_csv_export(live: Live) -> None:
    first = make_call(live, "tina", "no-time", "en")
    second = make_call(live, "tom", "no-time", "ru", lines=("Добрый день! Как вы сейчас записываете пациентов?",))
    running = make_call(live, "tina", "send-email", "en", end=False)
    signed_in(live, "coach")
    rows = export_rows(live)
    assert [int(r["id"]) for r in rows] == [running, second, first], "newest first"
    assert set(rows[0]) >= {"id", "user", "persona", "lang", "started_at", "outcome", "total", "situation"}
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[first]["user"] == "tina" and by_id[first]["lang"] == "en" and by_id[first]["total"].isdigit()
    assert by_id[running]["outcome"] == "in_progress" and by_id[running]["total"] == ""
    assert [int(r["id"]) for r in export_rows(live, "?trainee=tom")] == [second]
    assert [int(r["id"]) for r in export_rows(live, "?lang=en")] == [running, first]
    assert [int(r["id"]) for r in export_rows(live, "?persona=send-email")] == [running]
    assert [int(r["id"]) for r in export_rows(live, "?outcome=in_progress")] == [running]
    assert [int(r["id"]) for r in export_rows(live, "?score_min=0&score_max=100")] == [second, first]
    today = datetime.now(UTC).date()
    assert len(export_rows(live, f"?date_from={today}&date_to={today}")) == 3
    assert export_rows(live, f"?date_to={today - timedelta(days=1)}") == []
    page = live.client.get("/manage/calls?trainee=tom&date_from=not-a-date")
    assert page.status_code == 200 and "date_from" in page.text, "a bad value is named"
    assert f'href="/manage/calls/{second}"' in page.text and f'href="/manage/calls/{first}"' not in page.text
    assert 'href="/manage/calls.csv?trainee=tom"' in page.text, "the export keeps the filter"
    listed = live.client.get("/manage/calls.json?trainee=tina").json()
    assert listed["count"] == 2 and {c["id"] for c in listed["calls"]} == {first, running}


def test_csv_cells_cannot_become_spreadsheet_formulas(live: Live) -> None:
    from trainer.services.review import _csv_safe

    assert _csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _csv_safe("tina") == "tina" and _csv_safe(None) == ""


def test_comment_and_correct_a_label_then_agreement(live: Live) -> None:
    call_id = make_call(live, "tina", "no-time", "en",
                        lines=("Good morning, is this the owner?", "How do you book patients today?",
                               "What problems do you have with missed appointments?"))
    client = signed_in(live, "coach")
    view = client.get(f"/manage/calls/{call_id}")
    assert view.status_code == 200
    token = csrf_of(view.text)
    engine = make_engine(live.settings.effective_database_url)
    with unit_of_work(make_sessionmaker(engine)) as db:
        trainee = {t.index: t.label for t in db.query(Turn).filter_by(call_id=call_id, role="trainee")}
    assert len(trainee) >= 2
    first, second = sorted(trainee)[:2]
    other = "pitch" if trainee[second] != "pitch" else "closing"
    ok = client.post(f"/manage/calls/{call_id}/turns/{first}/label",
                     data={"label": trainee[first], "note": "right", "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    client.post(f"/manage/calls/{call_id}/turns/{second}/label", data={"label": other, "csrf_token": token})
    bad = client.post(f"/manage/calls/{call_id}/turns/0/label", data={"label": "problem", "csrf_token": token})
    assert "Only the trainee" in bad.text, "a client line has no label to correct"
    client.post(f"/manage/calls/{call_id}/turns/0/comment", data={"text": "Nice pick-up <b>", "csrf_token": token})
    with unit_of_work(make_sessionmaker(engine)) as db:
        rows = {db.get(Turn, k.turn_id).index: k.label for k in db.query(LabelCorrection)}  # type: ignore[union-attr]
        kept = {t.index: t.label for t in db.query(Turn).filter_by(call_id=call_id, role="trainee")}
    engine.dispose()
    assert rows == {first: trainee[first], second: other}
    assert kept == trainee, "the classifier's labels stay as they were"
    view = client.get(f"/manage/calls/{call_id}")
    assert "Nice pick-up &lt;b&gt;" in view.text and "Trainer&#39;s label" in view.text
    agreement = client.get("/manage/agreement")
    assert '<dd id="agreement-turns">2</dd>' in agreement.text
    assert '<dd id="agreement-share">50%</dd>' in agreement.text
    exported = json.loads(client.get(f"/manage/calls/{call_id}.json").text)
    turn = next(t for t in exported["turns"] if t["index"] == second)
    assert turn["label"] == trainee[second] and turn["corrections"][0]["label"] == other
    assert exported["turns"][0]["comments"][0]["text"] == "Nice pick-up <b>"
    assert [a for a, _ in audit_actions(live)] == ["call.label", "call.label", "call.comment"]


def test_agreement_and_kappa() -> None:
    perfect = agreement_of([("situation", "situation"), ("problem", "problem")])
    assert perfect.share == 1.0 and perfect.kappa == 1.0
    mixed = agreement_of([("situation", "situation"), ("situation", "problem"), ("problem", "problem"),
                          ("problem", "problem")])
    # p_o = 0.75; p_e = (2*1 + 2*3) / 16 = 0.5; kappa = 0.5
    assert mixed.share == 0.75 and mixed.kappa == 0.5
    situation = next(r for r in mixed.labels if r.label == "situation")
    assert (situation.classifier, situation.trainer, situation.both, situation.share) == (2, 1, 1, 0.5)
    assert mixed.confusions == [("situation", "problem", 1)]
    assert agreement_of([("pitch", "pitch")]).kappa is None, "one label everywhere: kappa undefined"
    assert agreement_of([]).share is None
