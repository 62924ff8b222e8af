"""Users: trainers may look, admins add, invite, reset passwords and deactivate. The invite landing page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from trainer.db.models import ROLES
from trainer.services import users_admin
from trainer.services.users_admin import UsersError
from trainer.web.csrf import check_form
from trainer.web.deps import DB, Ctx, MaybePrincipal, Principal
from trainer.web.guards import Admin, FormCsrf, Staff
from trainer.web.manage.common import FormStr, back, page
from trainer.web.pages import render, signed_in

router = APIRouter(include_in_schema=False)


def _users_page(request: Request, ctx: Ctx, db: DB, who: Principal, *, status: int = 200, error_key: str = "",
                error_detail: str = "", invite_url: str = "", done: str = "", form: dict[str, str] | None = None
                ) -> HTMLResponse:
    return page(request, ctx, who, "users.html", status=status, users=users_admin.all_users(db),
                invites=users_admin.pending_invites(db), roles=ROLES, error_key=error_key,
                error_detail=error_detail, invite_url=invite_url, done=done, form=form or {})


@router.get("/manage/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx, db: DB, who: Staff, done: str = "") -> Response:
    return _users_page(request, ctx, db, who, done=done)


@router.post("/manage/users", dependencies=[FormCsrf])
def add_user(request: Request, ctx: Ctx, db: DB, who: Admin, name: FormStr, role: FormStr,
             password: FormStr) -> Response:
    try:
        users_admin.add(db, who.user, name, role, password)
    except UsersError as exc:
        return _users_page(request, ctx, db, who, status=exc.status, error_key=exc.key, error_detail=exc.detail,
                           form={"name": name, "role": role})
    return back("/manage/users", "m_user_added")


@router.post("/manage/users/invite", dependencies=[FormCsrf])
def invite(request: Request, ctx: Ctx, db: DB, who: Admin, name: FormStr, role: FormStr) -> Response:
    try:
        token = users_admin.invite(db, who.user, name, role)
    except UsersError as exc:
        return _users_page(request, ctx, db, who, status=exc.status, error_key=exc.key, error_detail=exc.detail,
                           form={"invite_name": name, "invite_role": role})
    url = f"{ctx.settings.base_url()}/invite?token={token}"
    return _users_page(request, ctx, db, who, invite_url=url, done="m_invite_made")


@router.post("/manage/users/{user_id}/password", dependencies=[FormCsrf])
def reset_password(user_id: int, request: Request, ctx: Ctx, db: DB, who: Admin, password: FormStr) -> Response:
    try:
        users_admin.reset_password(db, who.user, user_id, password)
    except UsersError as exc:
        return _users_page(request, ctx, db, who, status=exc.status, error_key=exc.key, error_detail=exc.detail)
    return back("/manage/users", "m_password_reset")


@router.post("/manage/users/{user_id}/active", dependencies=[FormCsrf])
def set_active(user_id: int, request: Request, ctx: Ctx, db: DB, who: Admin, active: FormStr) -> Response:
    try:
        users_admin.set_active(db, who.user, user_id, active == "1")
    except UsersError as exc:
        return _users_page(request, ctx, db, who, status=exc.status, error_key=exc.key, error_detail=exc.detail)
    return back("/manage/users", "m_user_activated" if active == "1" else "m_user_deactivated")


# --- the invite link -------------------------------------------------------------------------
@router.get("/invite", response_class=HTMLResponse)
def invite_page(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, token: str = "") -> Response:
    row = users_admin.open_invite(db, token)
    return render(request, ctx, who, "manage/invite.html", status=200 if row else 403, token=token,
                  invite=row, error_key="", error_detail="")


@router.post("/invite")
def invite_submit(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, token: FormStr, password: FormStr,
                  csrf_token: FormStr = "") -> Response:
    check_form(request, who, csrf_token, ctx.secret_key)
    try:
        user = users_admin.accept_invite(db, token, password)
    except UsersError as exc:
        return render(request, ctx, who, "manage/invite.html", status=exc.status, token=token,
                      invite=users_admin.open_invite(db, token), error_key=exc.key, error_detail=exc.detail)
    return signed_in(request, ctx, db, user)
