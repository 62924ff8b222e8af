"""Trainer and manager pages under /manage (plus the public /invite landing page), as one router."""

from __future__ import annotations

from fastapi import APIRouter

from trainer.web.guards import FormCsrf, StaffOnly
from trainer.web.manage import audit, dashboard, personas, rubric, transcripts, users

router = APIRouter(include_in_schema=False)
for _part in (personas, rubric, transcripts, dashboard, audit):
    router.include_router(_part.router, dependencies=[StaffOnly, FormCsrf])
router.include_router(users.router)  # holds the public /invite page; its routes carry their own checks
