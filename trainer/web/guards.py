"""Role checks for HTML pages that run before the form is read, so a refused caller learns
nothing about the form (no 422 for a missing field) and gets the sign-in page or a 403 page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from trainer.web.csrf import check_form
from trainer.web.deps import DB, Ctx, MaybePrincipal, Principal

STAFF_ROLES = ("trainer", "admin")


class PageRefused(Exception):
    def __init__(self, who: Principal | None) -> None:
        super().__init__("refused")
        self.who = who


def _refuse(db: DB, who: Principal | None) -> PageRefused:
    if who is not None:
        db.expunge(who.user)  # the 403 page still shows who is signed in after the rollback
    return PageRefused(who)


def staff_only(db: DB, who: MaybePrincipal) -> Principal:
    if who is None or who.user.role not in STAFF_ROLES:
        raise _refuse(db, who)
    return who


def admin_only(db: DB, who: MaybePrincipal) -> Principal:
    if who is None or who.user.role != "admin":
        raise _refuse(db, who)
    return who


async def form_csrf(request: Request, ctx: Ctx, who: MaybePrincipal) -> None:
    """Check a posted form's CSRF token before its fields are validated or used."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        form = await request.form()
        token = form.get("csrf_token")
        check_form(request, who, token if isinstance(token, str) else "", ctx.secret_key)


Staff = Annotated[Principal, Depends(staff_only)]  # a signed-in trainer or admin, else refused
Admin = Annotated[Principal, Depends(admin_only)]
StaffOnly = Depends(staff_only)
AdminOnly = Depends(admin_only)
FormCsrf = Depends(form_csrf)


def refused_page(request: Request, exc: Exception) -> Response:
    """Anonymous: to the sign-in page. Signed in without the role: the translated 403 page."""
    from trainer.web.pages import render

    who = exc.who if isinstance(exc, PageRefused) else None
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, request.app.state.ctx, who, "error.html", status=403, message_key="m_forbidden")
