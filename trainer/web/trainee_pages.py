"""Trainee pages beyond the call itself: live coaching, "try again from here", and my progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trainer.db.session import end_reads
from trainer.services import call_access
from trainer.services.branching import branch_call
from trainer.services.calls import CallError
from trainer.services.personas import latest_version, persona_of
from trainer.services.progress import progress_of
from trainer.web.charts import bars_svg, totals_svg
from trainer.web.csrf import check_form
from trainer.web.deps import DB, Auth, Ctx, CurrentRubric, MaybePrincipal
from trainer.web.i18n import pick_lang, translate
from trainer.web.pages import render
from trainer.web.trainee_views import coach_of

router = APIRouter()


@router.get("/api/calls/{call_id}/coach", tags=["calls"])
def coach(call_id: int, db: DB, who: Auth, rubric: CurrentRubric) -> dict[str, Any]:
    """Live nudges from the rubric and a hint for the next question, for the trainee's own call.

    An exam call gets nothing until it has ended (409); after the end there is nothing left to coach.
    """
    try:
        call = call_access.get_call_for(db, who.user, call_id)
        if call.user_id != who.user.id:
            raise CallError(403, "coaching is only for the trainee who holds the call")
        if call.mode == "exam" and not call.ended:
            raise CallError(409, "this is an exam: no nudges or hints until the call has ended")
    except CallError as exc:
        raise HTTPException(exc.status, exc.message) from None
    advice = coach_of(db, call, rubric)
    end_reads(db)  # a GET's transaction is a read (trainer.web.deps.get_db): ended here, in this thread
    return advice


@router.post("/calls/{call_id}/branch")
def try_again_from(call_id: int, request: Request, ctx: Ctx, db: DB, who: MaybePrincipal,
                   turn: Annotated[int, Form()], csrf_token: Annotated[str, Form()] = "") -> Response:
    """Start a new call that keeps the turns before trainee turn `turn` of an ended call."""
    if who is None:
        return RedirectResponse("/login", status_code=303)
    check_form(request, who, csrf_token, ctx.secret_key)
    try:
        parent = call_access.get_call_for(db, who.user, call_id)
        call = branch_call(db, who.user, parent, turn, ctx.engine.name)
    except CallError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return RedirectResponse(f"/calls/{call.id}#say", status_code=303)


@router.get("/progress", response_class=HTMLResponse)
def my_progress(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, rubric: CurrentRubric) -> Response:
    if who is None:
        return RedirectResponse("/login", status_code=303)
    lang = pick_lang(request)

    def t(key: str) -> str:
        return translate(ctx.messages, lang, key)

    data = progress_of(db, who.user)
    names = {}
    for stats in data.per_persona:
        version = latest_version(db, stats.persona_id)
        names[stats.persona_id] = persona_of(version).name_for(lang) if version else stats.persona_id
    points = [(f"#{c.call_id} · {c.started_at:%Y-%m-%d}", c.total, f"/calls/{c.call_id}") for c in data.scored]
    totals = totals_svg(points, t("progress_totals"), rubric.pass_mark, t("pass_mark")) if points else None
    letters = {"situation": "S", "problem": "P", "implication": "I", "need_payoff": "N"}
    mix = bars_svg([(k, letters[k], v, t(f"label_{k}")) for k, v in data.mix.items()],
                   t("progress_mix")) if any(data.mix.values()) else None
    return render(request, ctx, who, "progress.html", progress=data, totals_chart=totals, mix_chart=mix,
                  persona_names=names,
                  conversion=round(100 * data.conversion) if data.conversion is not None else None,
                  average=round(data.average) if data.average is not None else None)
