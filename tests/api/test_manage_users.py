"""Users: add, invite by a one-time link, reset a password, deactivate (no sign-in, tokens stop), audit log."""

from __future__ import annotations

import re

from tests.api.conftest import PASSWORD, Live
from tests.api.test_manage_pages import signed_in
from tests.api.test_manage_personas import audit_actions
from tests.api.test_web_pages import csrf_of
from trainer.db.models import Invite, User
from trainer.db.session import make_engine, make_sessionmaker, unit_of_work


def user_id(live: Live, name: str) -> int:
    engine = make_engine(live.settings.effective_database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            user = db.query(User).filter_by(name=name).one()
            return user.id
    finally:
        engine.dispose()


def try_sign_in(live: Live, name: str, password: str) -> int:
    live.client.cookies.clear()
    page = live.client.get("/login")
    res = live.client.post("/login", data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    return res.status_code


def test_admin_adds_a_trainee_who_can_sign_in(live: Live) -> None:
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/manage/users").text)
    short = client.post("/manage/users", data={"name": "nina", "role": "trainee", "password": "short",
                                               "csrf_token": token})
    assert short.status_code == 422 and "8 characters" in short.text and 'value="nina"' in short.text
    made = client.post("/manage/users", data={"name": "nina", "role": "trainer", "password": "nina's password",
                                              "csrf_token": token}, follow_redirects=False)
    assert made.status_code == 303
    assert try_sign_in(live, "nina", "nina's password") == 303
    assert live.client.get("/manage/users").status_code == 200, "a trainer may look at users"


def test_deactivated_user_cannot_sign_in_and_tokens_stop(live: Live) -> None:
    assert live.client.get("/api/calls", headers=live.auth("tom")).status_code == 200
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/manage/users").text)
    tom = user_id(live, "tom")
    res = client.post(f"/manage/users/{tom}/active", data={"active": "0", "csrf_token": token},
                      follow_redirects=False)
    assert res.status_code == 303
    assert live.client.get("/api/calls", headers=live.auth("tom")).status_code == 401
    assert try_sign_in(live, "tom", PASSWORD) == 401
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/manage/users").text)
    me = user_id(live, "admin")
    self_off = client.post(f"/manage/users/{me}/active", data={"active": "0", "csrf_token": token})
    assert self_off.status_code == 422 and "your own account" in self_off.text
    client.post(f"/manage/users/{tom}/active", data={"active": "1", "csrf_token": token})
    assert try_sign_in(live, "tom", PASSWORD) == 303
    assert live.client.get("/api/calls", headers=live.auth("tom")).status_code == 401, "revoked tokens stay revoked"


def test_reset_password_signs_the_user_out(live: Live) -> None:
    signed_in(live, "tina")
    assert live.client.get("/").status_code == 200
    tina_cookies = dict(live.client.cookies)
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/manage/users").text)
    res = client.post(f"/manage/users/{user_id(live, 'tina')}/password",
                      data={"password": "a brand new one", "csrf_token": token}, follow_redirects=False)
    assert res.status_code == 303
    live.client.cookies.clear()
    for name, value in tina_cookies.items():
        live.client.cookies.set(name, value)
    assert live.client.get("/", follow_redirects=False).status_code == 303, "old session ended"
    assert try_sign_in(live, "tina", PASSWORD) == 401
    assert try_sign_in(live, "tina", "a brand new one") == 303


def test_invite_link_works_once(live: Live) -> None:
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/manage/users").text)
    res = client.post("/manage/users/invite", data={"name": "ivan", "role": "trainee", "csrf_token": token})
    assert res.status_code == 200
    link = re.search(r'value="(http://[^"]+/invite\?token=([^"]+))"', res.text)
    assert link, "the link is shown once"
    invite_token = link.group(2)
    engine = make_engine(live.settings.effective_database_url)
    with unit_of_work(make_sessionmaker(engine)) as db:
        stored = db.query(Invite).one()
        assert stored.token_hash != invite_token and len(stored.token_hash) == 64, "stored hashed"
    engine.dispose()
    dup = client.post("/manage/users/invite", data={"name": "ivan", "role": "trainee", "csrf_token": token})
    assert dup.status_code == 422
    live.client.cookies.clear()
    assert live.client.get("/invite?token=wrong").status_code == 403
    page = live.client.get(f"/invite?token={invite_token}")
    assert page.status_code == 200 and 'value="ivan"' in page.text
    short = live.client.post("/invite", data={"token": invite_token, "password": "short",
                                              "csrf_token": csrf_of(page.text)})
    assert short.status_code == 422
    no_csrf = live.client.post("/invite", data={"token": invite_token, "password": "ivan's password"})
    assert no_csrf.status_code == 403
    done = live.client.post("/invite", data={"token": invite_token, "password": "ivan's password",
                                             "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert "ivan" in live.client.get("/").text, "signed in at once"
    live.client.cookies.clear()
    assert live.client.get(f"/invite?token={invite_token}").status_code == 403, "used once"
    assert try_sign_in(live, "ivan", "ivan's password") == 303


def test_audit_log_shows_who_did_what(live: Live) -> None:
    client = signed_in(live, "admin")
    token = csrf_of(client.get("/manage/users").text)
    client.post("/manage/users", data={"name": "nina", "role": "trainee", "password": "long enough pw",
                                       "csrf_token": token})
    client.post(f"/manage/users/{user_id(live, 'nina')}/active", data={"active": "0", "csrf_token": token})
    assert audit_actions(live) == [("user.add", "nina"), ("user.deactivate", "nina")]
    page = client.get("/manage/audit")
    assert page.status_code == 200
    rows = page.text.split('<tbody>', 1)[1]
    assert rows.index("user deactivated") < rows.index("user added"), "newest first"
    assert ">admin<" in rows
    only = client.get("/manage/audit?action=user.add").text.split('<tbody>', 1)[1]
    assert "user added" in only and "user deactivated" not in only
