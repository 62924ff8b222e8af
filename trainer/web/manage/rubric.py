"""Rubric editor: YAML with errors at the line, a preview of how recent calls would rescore, save, rescore."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from trainer.db.models import User
from trainer.scoring.rubric import Rubric, RubricError
from trainer.services import rubric_admin
from trainer.web.deps import DB, Ctx, Principal
from trainer.web.guards import Staff
from trainer.web.manage.common import FormStr, Located, back, listing, page

router = APIRouter(prefix="/manage/rubric", include_in_schema=False)


def _default_text(ctx: Ctx) -> str:
    return (ctx.settings.rubrics_dir / "spin.yaml").read_text(encoding="utf-8")


def _show(request: Request, ctx: Ctx, db: DB, who: Principal, *, text: str | None = None, status: int = 200,
          problems: list[Located] | None = None, candidate: Rubric | None = None, done: str = "") -> HTMLResponse:
    current = ctx.rubric_in_force(db)
    shown = text if text is not None else rubric_admin.current_text(db, ctx.rubric, _default_text(ctx))
    lines, unplaced, located = listing(shown, problems or [])
    rescored = rubric_admin.preview(db, candidate) if candidate is not None else []
    authors = {u.id: u.name for u in db.scalars(select(User))}
    return page(request, ctx, who, "rubric.html", status=status, rubric=current, text=shown,
                problems=located, lines=lines, unplaced=unplaced, candidate=candidate, rescored=rescored,
                history=rubric_admin.history(db, ctx.rubric.id), authors=authors, done=done,
                preview_calls=rubric_admin.PREVIEW_CALLS)


@router.get("", response_class=HTMLResponse)
def editor(request: Request, ctx: Ctx, db: DB, who: Staff, done: str = "") -> Response:
    return _show(request, ctx, db, who, done=done)


@router.post("")
def submit(request: Request, ctx: Ctx, db: DB, who: Staff, yaml_text: FormStr, action: FormStr = "preview") -> Response:
    """`action=preview` scores recent calls with the text without storing it; `action=save` stores it."""
    try:
        if action == "save":
            rubric_admin.save(db, who.user, yaml_text, ctx.rubric)
            return back("/manage/rubric", "m_rubric_saved")
        candidate, text = rubric_admin.validate(yaml_text, ctx.rubric, rubric_admin.next_version(db, ctx.rubric))
    except RubricError as exc:
        problems = [Located(p.line, p.field, p.message) for p in exc.problems] or [Located(None, "", str(exc))]
        return _show(request, ctx, db, who, text=yaml_text, status=422, problems=problems)
    return _show(request, ctx, db, who, text=text, candidate=candidate)


@router.post("/rescore")
def rescore(request: Request, ctx: Ctx, db: DB, who: Staff) -> Response:
    """Add scorecards under the current rubric to recent ended calls (old scorecards stay)."""
    rubric_admin.rescore(db, who.user, ctx.rubric_in_force(db))
    return back("/manage/rubric", "m_rescored")
