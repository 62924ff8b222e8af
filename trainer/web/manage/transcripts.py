"""Transcripts for trainers: filtered list, CSV/JSON export, a call view with comments and label corrections."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from trainer.db.models import Call
from trainer.services import calls as call_service
from trainer.services import review
from trainer.services.review import ReviewError
from trainer.spin.labels import Label
from trainer.web.deps import DB, Ctx
from trainer.web.guards import Staff
from trainer.web.manage.common import FormStr, back, not_found, page
from trainer.web.serialize import call_json

router = APIRouter(prefix="/manage", include_in_schema=False)

LABELS = [lb.value for lb in Label]


def _filter(request: Request) -> tuple[review.CallFilter, list[str]]:
    return review.parse_filter(dict(request.query_params))


@router.get("/calls", response_class=HTMLResponse)
def calls_page(request: Request, ctx: Ctx, db: DB, who: Staff) -> Response:
    flt, bad = _filter(request)
    rows = review.find_calls(db, flt)
    query = "&".join(f"{k}={v}" for k, v in flt.query().items())
    return page(request, ctx, who, "calls.html", rows=rows, flt=flt, bad=bad, choices=review.filter_choices(db),
                filter_query=query, limit=review.MAX_ROWS)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/calls.csv")
def calls_csv(request: Request, ctx: Ctx, db: DB, who: Staff) -> Response:
    flt, _ = _filter(request)
    body = "\ufeff" + review.to_csv(review.find_calls(db, flt))  # the BOM makes spreadsheets read UTF-8
    return Response(body, media_type="text/csv; charset=utf-8", headers=_attachment("calls.csv"))


@router.get("/calls.json")
def calls_export_json(request: Request, ctx: Ctx, db: DB, who: Staff) -> Response:
    flt, _ = _filter(request)
    rows = [r.to_dict() for r in review.find_calls(db, flt)]
    return JSONResponse({"filter": flt.query(), "count": len(rows), "calls": rows}, headers=_attachment("calls.json"))


def _call_export(db: DB, call: Call) -> dict[str, Any]:
    out = call_json(call, call_service.latest_scorecard(db, call))
    notes = review.notes_for(db, call)
    for turn in out["turns"]:
        n = notes.get(turn["index"])
        turn["comments"] = [{"by": name, "text": c.text, "at": c.created_at.isoformat()}
                            for c, name in (n.comments if n else [])]
        turn["corrections"] = [{"by": name, "label": k.label, "note": k.note, "at": k.created_at.isoformat()}
                               for k, name in (n.corrections if n else [])]
    return out


@router.get("/calls/{call_id}.json")
def call_export_json(call_id: int, request: Request, ctx: Ctx, db: DB, who: Staff) -> Response:
    call = db.get(Call, call_id)
    if call is None:
        return JSONResponse({"detail": f"no call {call_id}"}, status_code=404)
    body = json.dumps(_call_export(db, call), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers=_attachment(f"call-{call_id}.json"))


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_view(call_id: int, request: Request, ctx: Ctx, db: DB, who: Staff, done: str = "",
              error: str = "") -> Response:
    call = db.get(Call, call_id)
    if call is None:
        return not_found(request, ctx, who)
    card = call_service.latest_scorecard(db, call)
    data = call_json(call, card)
    return page(request, ctx, who, "call_review.html", call=data, notes=review.notes_for(db, call),
                scorecard=card.data if card else None, outcome=review.outcome_of(call), labels=LABELS,
                done=done, error=error if error.startswith("m_err_") else "")


def _review_call(db: DB, call_id: int) -> Call | None:
    return db.get(Call, call_id)


@router.post("/calls/{call_id}/turns/{index}/comment")
def add_comment(call_id: int, index: int, request: Request, ctx: Ctx, db: DB, who: Staff, text: FormStr) -> Response:
    call = _review_call(db, call_id)
    if call is None:
        return not_found(request, ctx, who)
    try:
        review.comment(db, who.user, call, index, text)
    except ReviewError as exc:
        return back(f"/manage/calls/{call_id}?error={exc.key}#turn-{index}")
    return back(f"/manage/calls/{call_id}?done=m_comment_saved#turn-{index}")


@router.post("/calls/{call_id}/turns/{index}/label")
def correct_label(call_id: int, index: int, request: Request, ctx: Ctx, db: DB, who: Staff,
                  label: FormStr, note: FormStr = "") -> Response:
    call = _review_call(db, call_id)
    if call is None:
        return not_found(request, ctx, who)
    try:
        review.correct(db, who.user, call, index, label, note)
    except ReviewError as exc:
        return back(f"/manage/calls/{call_id}?error={exc.key}#turn-{index}")
    return back(f"/manage/calls/{call_id}?done=m_label_saved#turn-{index}")


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, ctx: Ctx, db: DB, who: Staff) -> Response:
    return page(request, ctx, who, "agreement.html", agreement=review.agreement(db))
