"""The audit log page (admins): who changed what and when."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from trainer.services import audit
from trainer.web.deps import DB, Ctx
from trainer.web.guards import Admin
from trainer.web.manage.common import page

router = APIRouter(prefix="/manage", include_in_schema=False)
PAGE_SIZE = 100


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ctx: Ctx, db: DB, who: Admin, action: str = "",
               offset: int = 0) -> Response:
    offset = max(0, offset)
    rows, total = audit.recent(db, PAGE_SIZE, offset, action)
    return page(request, ctx, who, "audit.html", rows=rows, total=total, offset=offset, size=PAGE_SIZE,
                action=action, actions=audit.actions(db))
