"""Persona library pages: list, create, edit as YAML (errors at the line), clone, enable, history, preview."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trainer.personas.loader import PersonaError
from trainer.services import calls as call_service
from trainer.services import persona_admin
from trainer.services.calls import CallError
from trainer.services.persona_admin import PersonaAdminError
from trainer.services.personas import latest_version, persona_of
from trainer.web.deps import DB, Ctx, Principal
from trainer.web.guards import Staff
from trainer.web.i18n import pick_lang
from trainer.web.manage.common import FormStr, Located, back, listing, not_found, page

router = APIRouter(prefix="/manage/personas", include_in_schema=False)

SKELETON = """\
# A new client. Fields: see any persona in the library, or docs/personas.md.
name: {en: New client, ru: Новый клиент}
role: decision_maker          # gatekeeper | decision_maker | user | influencer | child | other
difficulty: normal            # easy | normal | hard
languages: [en, ru]
company: {en: Example Ltd, ru: ООО «Пример»}
product: {en: a delivery service, ru: сервис доставки}
first_lines:
  en: ["Hello, who is this?"]
  ru: ["Алло, кто это?"]
"""


@router.get("", response_class=HTMLResponse)
def library(request: Request, ctx: Ctx, db: DB, who: Staff, done: str = "") -> Response:
    rows = persona_admin.library(db, pick_lang(request))
    return page(request, ctx, who, "personas.html", rows=rows, done=done)


def _editor(request: Request, ctx: Ctx, who: Principal, *, persona_id: str, text: str, create: bool,
            status: int = 200, problems: list[Located] | None = None, error_key: str = "",
            error_detail: str = "", enabled: bool = True, version: int | None = None,
            done: str = "") -> HTMLResponse:
    lines, unplaced, located = listing(text, problems or [])
    return page(request, ctx, who, "persona_edit.html", status=status, persona_id=persona_id, text=text,
                create=create, problems=located, lines=lines, unplaced=unplaced, error_key=error_key,
                error_detail=error_detail, enabled=enabled, version=version, done=done)


def _located(exc: PersonaError) -> list[Located]:
    return [Located(i.line, i.field, i.message) for i in exc.issues]


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, ctx: Ctx, who: Staff) -> Response:
    return _editor(request, ctx, who, persona_id="", text=SKELETON, create=True)


@router.post("/new")
def create(request: Request, ctx: Ctx, db: DB, who: Staff, persona_id: FormStr, yaml_text: FormStr) -> Response:
    try:
        row = persona_admin.save(db, who.user, persona_id, yaml_text, create=True)
    except PersonaError as exc:
        return _editor(request, ctx, who, persona_id=persona_id, text=yaml_text, create=True, status=422,
                       problems=_located(exc))
    except PersonaAdminError as exc:
        return _editor(request, ctx, who, persona_id=persona_id, text=yaml_text, create=True, status=422,
                       error_key=exc.key, error_detail=exc.detail)
    return back(f"/manage/personas/{row.persona_id}", "m_saved")


@router.get("/{persona_id}", response_class=HTMLResponse)
def edit_form(persona_id: str, request: Request, ctx: Ctx, db: DB, who: Staff,
              done: str = "") -> Response:
    row = latest_version(db, persona_id)
    if row is None:
        return not_found(request, ctx, who)
    return _editor(request, ctx, who, persona_id=persona_id, text=row.yaml_text, create=False,
                   enabled=row.enabled, version=row.version, done=done)


@router.post("/{persona_id}")
def save_edit(persona_id: str, request: Request, ctx: Ctx, db: DB, who: Staff, yaml_text: FormStr) -> Response:
    row = latest_version(db, persona_id)
    if row is None:
        return not_found(request, ctx, who)
    try:
        saved = persona_admin.save(db, who.user, persona_id, yaml_text, create=False)
    except (PersonaError, PersonaAdminError) as exc:
        located = _located(exc) if isinstance(exc, PersonaError) else []
        key, detail = (exc.key, exc.detail) if isinstance(exc, PersonaAdminError) else ("", "")
        return _editor(request, ctx, who, persona_id=persona_id, text=yaml_text, create=False, status=422,
                       problems=located, error_key=key, error_detail=detail, enabled=row.enabled,
                       version=row.version)
    return back(f"/manage/personas/{saved.persona_id}", "m_saved")


@router.post("/{persona_id}/enabled")
def toggle(persona_id: str, request: Request, ctx: Ctx, db: DB, who: Staff, enabled: FormStr) -> Response:
    try:
        persona_admin.set_enabled(db, who.user, persona_id, enabled == "1")
    except PersonaAdminError:
        return not_found(request, ctx, who)
    return back("/manage/personas", "m_enabled_saved" if enabled == "1" else "m_disabled_saved")


@router.post("/{persona_id}/clone")
def clone(persona_id: str, request: Request, ctx: Ctx, db: DB, who: Staff, new_id: FormStr) -> Response:
    row = latest_version(db, persona_id)
    if row is None:
        return not_found(request, ctx, who)
    try:
        made = persona_admin.clone(db, who.user, persona_id, new_id)
    except PersonaError as exc:
        return _editor(request, ctx, who, persona_id=persona_id, text=row.yaml_text, create=False, status=422,
                       problems=_located(exc), enabled=row.enabled, version=row.version)
    except PersonaAdminError as exc:
        return _editor(request, ctx, who, persona_id=persona_id, text=row.yaml_text, create=False, status=422,
                       error_key=exc.key, error_detail=exc.detail, enabled=row.enabled, version=row.version)
    return back(f"/manage/personas/{made.persona_id}", "m_cloned")


@router.post("/{persona_id}/preview")
def preview_call(persona_id: str, request: Request, ctx: Ctx, db: DB, who: Staff, lang: FormStr) -> Response:
    """A practice call with the newest version, held by the trainer."""
    row = latest_version(db, persona_id)
    if row is None:
        return not_found(request, ctx, who)
    try:
        call = call_service.start_call(db, who.user, persona_id, lang, ctx.engine)
    except CallError as exc:
        key = "m_err_preview_disabled" if not row.enabled else "m_err_preview"
        return _editor(request, ctx, who, persona_id=persona_id, text=row.yaml_text, create=False,
                       status=exc.status, error_key=key, error_detail=exc.message, enabled=row.enabled,
                       version=row.version)
    return RedirectResponse(f"/calls/{call.id}", status_code=303)


@router.get("/{persona_id}/history", response_class=HTMLResponse)
def history(persona_id: str, request: Request, ctx: Ctx, db: DB, who: Staff, a: int = 0,
            b: int = 0) -> Response:
    versions = persona_admin.history(db, persona_id)
    if not versions:
        return not_found(request, ctx, who)
    by_number = {v.version: v for v in versions}
    new = by_number.get(b) or versions[0]
    old = by_number.get(a) or next((v for v in versions if v.version < new.version), new)
    lines = persona_admin.diff(old.yaml_text, new.yaml_text, f"{persona_id} v{old.version}",
                               f"{persona_id} v{new.version}")
    name = persona_of(versions[0]).name_for(pick_lang(request))
    return page(request, ctx, who, "persona_history.html", persona_id=persona_id, name=name, versions=versions,
                old=old, new=new, diff=lines)
