"""The audit log page (admins): who changed what and when."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from trainer.services import audit
from trainer.web.deps import DB, Ctx, MaybePrincipal
from trainer.web.guards import AdminOnly
from trainer.web.manage.common import is_admin, page, refuse

router = APIRouter(prefix="/manage", include_in_schema=False)
PAGE_SIZE = 100


@router.get("/audit", response_class=HTMLResponse, dependencies=[AdminOnly])
def audit_page(request: Request, ctx: Ctx, db: DB, who: MaybePrincipal, action: str = "",
               offset: int = 0) -> Response:
    if who is None or not is_admin(who):
        return refuse(request, ctx, who)
    offset = max(0, offset)
    rows, total = audit.recent(db, PAGE_SIZE, offset, action)
    return page(request, ctx, who, "audit.html", rows=rows, total=total, offset=offset, size=PAGE_SIZE,
                action=action, actions=audit.actions(db))
