"""Personal data over the API: export your own data; an admin deletes a user with their calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from trainer.services.accounts import AccountError
from trainer.services.privacy import delete_user, export_user
from trainer.web.deps import DB, Auth, AuthWrite
from trainer.web.serialize import call_json

router = APIRouter(tags=["account"])


@router.get("/api/me")
def me(who: Auth) -> dict[str, Any]:
    return {"name": who.user.name, "role": who.user.role}


@router.get("/api/me/export")
def export_my_data(db: DB, who: Auth) -> JSONResponse:
    """Everything held about you, as one JSON document."""
    data = export_user(db, who.user, call_json)
    return JSONResponse(data, headers={
        "Content-Disposition": f'attachment; filename="spin-trainer-{who.user.name}.json"'})


@router.delete("/api/users/{name}")
def remove_user(name: str, db: DB, who: AuthWrite) -> dict[str, Any]:
    """Admins only: delete a user with all their calls; the audit log records it."""
    if who.user.role != "admin":
        raise HTTPException(403, "only an admin can delete users")
    try:
        return {"deleted": delete_user(db, who.user, name)}
    except AccountError as exc:
        status = 404 if "no user named" in str(exc) else 409
        raise HTTPException(status, str(exc)) from None
