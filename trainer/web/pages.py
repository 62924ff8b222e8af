"""HTML pages: first setup, sign-in, home, the practice call and the call record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trainer.services import accounts, call_access, signin
from trainer.services import calls as call_service
from trainer.services.accounts import AccountError
from trainer.services.calls import CallError
from trainer.services.personas import listed_personas, persona_of
from trainer.services.scorecards import hang_up
from trainer.web.api import call_started
from trainer.web.csrf import check_form, form_token, remember_anon_token
from trainer.web.deps import DB, SESSION_COOKIE, Ctx, CurrentRubric, MaybePrincipal, Principal, commit_here
from trainer.web.i18n import LANG_COOKIE, pick_lang
from trainer.web.serialize import call_json, persona_json
from trainer.web.trainee_views import band_of, earlier_on_persona, elapsed_s, level_title, timeline_of

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]


def render(request: Request, ctx: Ctx, principal: Principal | None, template: str, status: int = 200,
           **page: Any) -> HTMLResponse:
    lang = pick_lang(request)
    context = {"lang": lang, "user": principal.user if principal else None,
               "csrf_token": form_token(request, principal, ctx.secret_key), "path": request.url.path, **page}
    response = ctx.templates.TemplateResponse(request, template, context, status_code=status)
    remember_anon_token(request, response, secure_cookies(request, ctx))
    return response


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


# --- first start and sign-in ---------------------------------------------------------------
@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, token: str = "") -> Response:
    if accounts.user_count(db) > 0:
        return RedirectResponse("/login", status_code=303)
    valid = bool(token) and accounts.setup_link_valid(db, token)
    return render(request, ctx, who, "setup.html", status=200 if valid else 403, token=token, valid=valid)


@router.post("/setup")
def setup_submit(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, token: FormStr, name: FormStr,
                 password: FormStr, csrf_token: FormStr = "") -> Response:
    check_form(request, who, csrf_token, ctx.secret_key)
    try:
        user = accounts.consume_setup_link(db, token, name, password)
    except AccountError as exc:
        return render(request, ctx, who, "setup.html", status=422, token=token, valid=True, error=str(exc),
                      name=name)
    ctx.has_users = True
    return signed_in(request, ctx, db, user)


def secure_cookies(request: Request, ctx: Ctx) -> bool:
    """Cookies are Secure when configured so or when the request came over HTTPS (also via a proxy)."""
    return ctx.settings.secure_cookies or request.url.scheme == "https"


def signed_in(request: Request, ctx: Ctx, db: DB, user: Any) -> RedirectResponse:
    """Start a browser session for `user` and go home."""
    new = accounts.create_session(db, user, ctx.settings.session_max_age_s)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, new.cookie_value, max_age=ctx.settings.session_max_age_s, httponly=True,
                        samesite="lax", secure=secure_cookies(request, ctx), path="/")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: Ctx, who: MaybePrincipal) -> Response:
    if who is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, ctx, who, "login.html")


@router.post("/login")
def login_submit(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, name: FormStr, password: FormStr,
                 csrf_token: FormStr = "") -> Response:
    check_form(request, who, csrf_token, ctx.secret_key)
    address = request.client.host if request.client else ""
    name = name.strip()
    try:
        signin.check(db, name, address, ctx.settings.sign_in_throttle())
    except signin.SignInBlocked as exc:
        response = render(request, ctx, who, "login.html", status=429, name=name,
                          error="login_locked" if exc.reason == "locked" else "login_slow_down",
                          minutes=max(1, exc.retry_after_s // 60))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    user = accounts.authenticate(db, name, password)
    signin.record(db, name, address, ok=user is not None)
    if user is None:
        return render(request, ctx, who, "login.html", status=401, error="bad_login", name=name)
    return signed_in(request, ctx, db, user)


@router.post("/logout")
def logout(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, csrf_token: FormStr = "") -> Response:
    check_form(request, who, csrf_token, ctx.secret_key)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.delete_session(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_lang(code: str, next: str = "/") -> Response:
    """Remember the UI language; only local paths are followed afterwards."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if code in ("ru", "en"):
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


# --- practice -------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal) -> Response:
    if who is None:
        return _to_login()
    lang = pick_lang(request)
    personas = [persona_json(p, lang) for p in listed_personas(db)]
    rows, _ = call_access.list_calls(db, who.user, 20, 0)
    recent = [call_json(c, call_service.latest_scorecard(db, c), full=False) for c in rows]
    names = {c.persona_id: persona_of(c.persona_version).name_for(lang) for c in rows}
    return render(request, ctx, who, "home.html", personas=personas, calls=recent, persona_names=names)


@router.post("/calls")
def start_call(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, persona: FormStr, lang: FormStr,
               csrf_token: FormStr = "", mode: FormStr = "practice") -> Response:
    if who is None:
        return _to_login()
    check_form(request, who, csrf_token, ctx.secret_key)
    try:
        call = call_service.start_call(db, who.user, persona, lang, ctx.engine, mode)
    except CallError as exc:
        raise HTTPException(exc.status, exc.message) from None
    commit_here(db)
    call_started(ctx, request, who, call)
    return RedirectResponse(f"/calls/{call.id}", status_code=303)


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(call_id: int, request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, rubric: CurrentRubric
              ) -> Response:
    if who is None:
        return _to_login()
    try:
        call = call_access.get_call_for(db, who.user, call_id)
    except CallError:
        return render(request, ctx, who, "error.html", status=404, message_key="not_found")
    card = call_service.latest_scorecard(db, call)
    persona = persona_of(call.persona_version)
    lang = pick_lang(request)
    mine = call.user_id == who.user.id
    band = band_of(rubric)
    after: dict[str, Any] = {}
    if card is not None:
        after = {"timeline": timeline_of(call, rubric, ctx.messages, lang),
                 "history": earlier_on_persona(db, call),
                 "level_title": level_title(rubric, card.data.get("level"), lang)}
    return render(request, ctx, who, "call.html", call=call_json(call, card),
                  scorecard=card.data if card else None, persona_name=persona.name_for(lang),
                  can_speak=mine and not call.ended, can_branch=mine and call.ended,
                  hide_labels=call.mode == "exam" and not call.ended, band=band,
                  elapsed=round(elapsed_s(call)), **after)


@router.post("/calls/{call_id}/turns")
def post_turn_form(call_id: int, request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, text: FormStr,
                   rubric: CurrentRubric, csrf_token: FormStr = "") -> Response:
    """The no-script fallback of the practice page: post a line, come back to the call."""
    if who is None:
        return _to_login()
    check_form(request, who, csrf_token, ctx.secret_key)
    try:
        call = call_access.call_to_speak_in(db, who.user, call_id, ctx.settings.turns_per_minute)
        call_service.take_turn(db, call, text, ctx.engine, ctx.settings.max_turn_chars, rubric,
                               classifier=ctx.classifier, outside=ctx.db_slots.released)
    except CallError as exc:
        raise HTTPException(exc.status, exc.message, headers=exc.headers) from None
    return RedirectResponse(f"/calls/{call_id}#end", status_code=303)


@router.post("/calls/{call_id}/end")
def end_call_form(call_id: int, request: Request, ctx: Ctx, db: DB, who: MaybePrincipal,
                  csrf_token: FormStr = "") -> Response:
    if who is None:
        return _to_login()
    check_form(request, who, csrf_token, ctx.secret_key)
    try:  # someone else's call that is still going is only shown again (403 from hang_up)
        hang_up(db, who.user, call_id, ctx.rubric_in_force)
    except CallError as exc:
        if exc.status != 403:
            raise HTTPException(exc.status, exc.message) from None
    return RedirectResponse(f"/calls/{call_id}", status_code=303)
