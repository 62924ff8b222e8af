"""Score an uploaded transcript: `POST /api/score` for tools, `/upload` for people."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trainer.scoring.transcript import MAX_INPUT_BYTES, TranscriptError
from trainer.services.uploads import UploadTooLarge, score_upload
from trainer.web.csrf import check_form
from trainer.web.deps import AuthWrite, Ctx, CurrentRubric, MaybePrincipal
from trainer.web.pages import render

router = APIRouter()


@router.post("/api/score", tags=["scoring"],
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": {"type": "object", "description":
                                      '{"turns": [{"role": "trainee"|"client", "text": ..., "at"?: s}], '
                                      '"persona"?, "lang"?, "duration_s"?}'}},
                 "text/plain": {"schema": {"type": "string", "description":
                                "lines with speaker prefixes: Seller:/Buyer:, Менеджер:/Клиент:"}}},
                 "required": True}})
async def score_transcript(request: Request, rubric: CurrentRubric, _: AuthWrite) -> dict[str, Any]:
    """Score a real call's transcript (JSON or plain text with speaker prefixes); nothing is stored."""
    raw = await request.body()
    try:
        return score_upload(raw, rubric).scorecard
    except UploadTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except TranscriptError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_page(request: Request, ctx: Ctx, who: MaybePrincipal) -> Response:
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, ctx, who, "upload.html", max_kb=MAX_INPUT_BYTES // 1000)


@router.post("/upload", response_class=HTMLResponse, include_in_schema=False)
async def upload_submit(request: Request, ctx: Ctx, who: MaybePrincipal, rubric: CurrentRubric,
                        text: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
                        file: Annotated[UploadFile | None, File()] = None) -> Response:
    if who is None:
        return RedirectResponse("/login", status_code=303)
    check_form(request, who, csrf_token, ctx.secret_key)
    raw: bytes | str = text
    if file is not None and file.filename:
        raw = await file.read(MAX_INPUT_BYTES + 1)
    if not raw or (isinstance(raw, str) and not raw.strip()):
        return render(request, ctx, who, "upload.html", status=422, max_kb=MAX_INPUT_BYTES // 1000,
                      error_key="upload_empty")
    try:
        scored = score_upload(raw, rubric)
    except UploadTooLarge as exc:
        return render(request, ctx, who, "upload.html", status=413, max_kb=MAX_INPUT_BYTES // 1000,
                      error=str(exc), text=text)
    except TranscriptError as exc:
        return render(request, ctx, who, "upload.html", status=422, max_kb=MAX_INPUT_BYTES // 1000,
                      error=str(exc), text=text)
    turns = [{"index": t.index, "role": t.role, "text": t.text, "label": t.label.value if t.label else None,
              "letter": t.label.letter if t.label else None} for t in scored.turns]
    return render(request, ctx, who, "upload.html", max_kb=MAX_INPUT_BYTES // 1000, turns=turns,
                  scorecard=scored.scorecard)
