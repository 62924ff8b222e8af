"""Team dashboard: counts, conversion, average score, SPIN mix and the leaderboard, drawn as SVG without styles."""

from __future__ import annotations

import re

from tests.api.conftest import Live
from tests.api.test_manage_pages import make_call, signed_in
from trainer.db.models import Call
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work


def test_dashboard_numbers_and_charts(live: Live) -> None:
    first = make_call(live, "tina")
    make_call(live, "tina")
    make_call(live, "tom")
    make_call(live, "coach")  # a trainer's call is not team practice
    engine = make_engine(live.settings.effective_database_url)
    with unit_of_work(make_sessionmaker(engine)) as db:
        call = db.get(Call, first)
        assert call is not None
        call.state = {**call.state, "outcome": "meeting_booked"}
    engine.dispose()
    client = signed_in(live, "coach")
    page = client.get("/manage/dashboard")
    assert page.status_code == 200
    assert '<dd id="stat-calls">3</dd>' in page.text
    assert '<dd id="stat-meetings">1</dd>' in page.text
    assert '<dd id="stat-conversion">33%</dd>' in page.text
    assert re.search(r'<dd id="stat-average">\d+(\.\d)?</dd>', page.text)
    board = page.text.split('id="leaderboard"', 1)[1]
    assert board.index(">tina<") < board.index(">tom<"), "the trainee with a meeting leads"
    assert ">coach<" not in board
    svgs = re.findall(r"<svg.*?</svg>", page.text, re.S)
    assert len(svgs) == 2 and all('role="img"' in s and "<title" in s for s in svgs)
    assert " style=" not in page.text, "the CSP forbids inline styles"
    assert 'class="seg-' in svgs[1]
