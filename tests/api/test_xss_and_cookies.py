"""Script in persona texts, user names and turns renders inert; cookies turn Secure over HTTPS."""

from __future__ import annotations

from sqlalchemy import select

from tests.api.conftest import PASSWORD, Live, seed_users
from tests.api.test_web_pages import csrf_of, sign_in
from trainer.db.models import PersonaVersion
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
from trainer.services.personas import add_version

PROBE = "<img/src=x/onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"


def test_probes_render_inert_everywhere(live: Live) -> None:
    seed_users(live.settings, {PROBE: "trainee"})
    engine = make_engine(live.settings.effective_database_url)
    with unit_of_work(make_sessionmaker(engine)) as db:
        latest = db.scalars(select(PersonaVersion).where(PersonaVersion.persona_id == "no-time")).first()
        assert latest is not None
        text = latest.yaml_text
        first_en = next(line for line in text.splitlines() if line.strip().startswith("en:"))  # the name
        add_version(db, "no-time", text.replace(first_en, first_en.rstrip() + f" {SCRIPT}{PROBE}", 1), None)
    engine.dispose()
    # the user with a hostile name holds a call whose turns carry script too
    client = live.client
    sign_in(client, PROBE)
    home = client.get("/")
    assert SCRIPT not in home.text and PROBE not in home.text
    started = client.post("/calls", data={"persona": "no-time", "lang": "en", "csrf_token": csrf_of(home.text)})
    client.post(f"{started.url}/turns", data={"text": f"{SCRIPT} {PROBE}", "csrf_token": csrf_of(started.text)})
    pages = [client.get("/").text, client.get(str(started.url)).text, client.get("/progress").text]
    client.cookies.clear()
    sign_in(client, "coach")
    pages += [client.get(p).text for p in ("/manage/calls", "/manage/users", "/manage/personas",
                                           "/manage/personas/no-time", "/manage/dashboard")]
    for html in pages:
        assert SCRIPT not in html and PROBE not in html
    assert any("&lt;img/src=x/onerror=alert(1)&gt;" in html for html in pages), "the probe is shown, escaped"


def test_session_cookie_is_secure_over_https(live: Live) -> None:
    page = live.client.get("/login")
    res = live.client.post("/login", data={"name": "tina", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    assert "secure" not in res.headers["set-cookie"].lower(), "plain HTTP on a developer's machine"
    https = live.client.__class__(live.client.app, base_url="https://trainer.example", follow_redirects=False)
    page = https.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()
    res = https.post("/login", data={"name": "tina", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    cookie = res.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
