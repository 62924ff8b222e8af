"""Team dashboard: calls and meetings per day, conversion, average score, SPIN mix, the week's leaderboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from trainer.db.base import utcnow
from trainer.services import dashboard
from trainer.web.deps import DB, Ctx
from trainer.web.guards import Staff
from trainer.web.i18n import pick_lang, translate
from trainer.web.manage import charts
from trainer.web.manage.common import page

router = APIRouter(prefix="/manage", include_in_schema=False)
RANGES = (7, 14, 30, 90)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, ctx: Ctx, db: DB, who: Staff, days: int = 14) -> Response:
    days = days if days in RANGES else 14
    data = dashboard.build(db, utcnow().date(), days)
    lang = pick_lang(request)

    def tr(key: str) -> str:
        return translate(ctx.messages, lang, key)

    day_chart = charts.bars([(d.day.strftime("%d.%m"), d.calls, d.meetings) for d in data.days],
                            tr("m_chart_days"), tr("m_calls"), tr("m_meetings"))
    names = {k: tr(f"label_{k}") for k in charts.SPIN_KEYS}
    mix_chart = charts.mix(data.mix, tr("m_chart_mix"), names)
    return page(request, ctx, who, "dashboard.html", data=data, days=days, ranges=RANGES, day_chart=day_chart,
                mix_chart=mix_chart, spin_keys=charts.SPIN_KEYS)
