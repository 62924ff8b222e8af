"""Every route, for every kind of caller: anonymous, the trainee who owns the call, another trainee,
a trainer and an admin. New routes must be added to the table below, or this test fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Live

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any account
OWNER = "owner"  # the trainee who holds the call (trainers and admins may read it)
OWNER_ONLY = "owner_only"  # the trainee who holds the call, nobody else (live coaching)
STAFF = "staff"  # trainers and admins
ADMIN = "admin"  # admins only

POLICY: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC, ("GET", "/setup"): PUBLIC, ("POST", "/setup"): PUBLIC,
    ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("GET", "/lang/{code}"): PUBLIC,
    ("GET", "/invite"): PUBLIC, ("POST", "/invite"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN, ("GET", "/"): SIGNED_IN, ("POST", "/calls"): SIGNED_IN,
    ("GET", "/progress"): SIGNED_IN, ("GET", "/upload"): SIGNED_IN, ("POST", "/upload"): SIGNED_IN,
    ("GET", "/api/personas"): SIGNED_IN, ("POST", "/api/calls"): SIGNED_IN, ("GET", "/api/calls"): SIGNED_IN,
    ("GET", "/api/me"): SIGNED_IN, ("GET", "/api/me/export"): SIGNED_IN, ("POST", "/api/score"): SIGNED_IN,
    ("GET", "/api/calls/{call_id}"): OWNER, ("POST", "/api/calls/{call_id}/turns"): OWNER,
    ("POST", "/api/calls/{call_id}/end"): OWNER, ("POST", "/api/calls/{call_id}/turns/stream"): OWNER,
    ("GET", "/api/calls/{call_id}/coach"): OWNER_ONLY, ("GET", "/calls/{call_id}"): OWNER,
    ("POST", "/calls/{call_id}/turns"): OWNER, ("POST", "/calls/{call_id}/end"): OWNER,
    ("POST", "/calls/{call_id}/branch"): OWNER,
    ("DELETE", "/api/users/{name}"): ADMIN,
    ("GET", "/manage/audit"): ADMIN, ("POST", "/manage/users"): ADMIN, ("POST", "/manage/users/invite"): ADMIN,
    ("POST", "/manage/users/{user_id}/password"): ADMIN, ("POST", "/manage/users/{user_id}/active"): ADMIN,
}
# Ending an already ended call only returns its scorecard: trainers and admins may do that too.
READS_WHEN_ENDED = {("POST", "/api/calls/{call_id}/end"), ("POST", "/calls/{call_id}/end")}
# Everything else under /manage is for trainers and admins.
STAFF_PREFIX = "/manage/"
WRITES = {"POST", "DELETE", "PUT", "PATCH"}


def flat_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from flat_routes(route.original_router.routes)


def policy_of(method: str, path: str) -> str:
    if (method, path) in POLICY:
        return POLICY[(method, path)]
    if path.startswith(STAFF_PREFIX):
        return STAFF
    raise AssertionError(f"{method} {path} has no access policy in the table; add one")


class Caller:
    def __init__(self, live: Live, name: str | None) -> None:
        self.name = name
        self.client = TestClient(live.client.app, follow_redirects=False)
        self.csrf = ""
        if name is not None:
            page = self.client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            res = self.client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)})
            assert res.status_code == 303, res.text
            home = self.client.get("/")
            found = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
            assert found
            self.csrf = found.group(1)

    def send(self, method: str, url: str, form: dict[str, str] | None = None, csrf: bool = True) -> Any:
        """With `csrf=False` a wrong token is sent, as a forged cross-site request would."""
        token = self.csrf if csrf else "forged-token"
        headers = {"X-CSRF-Token": token} if self.csrf else {}
        data = dict(form or {})
        if self.csrf and method in WRITES and not url.startswith("/api/"):
            data["csrf_token"] = token
        if url.startswith("/api/") and method in WRITES:
            return self.client.request(method, url, json=data or {"text": "Hello there"}, headers=headers)
        return self.client.request(method, url, data=data or None, headers=headers)


@pytest.fixture
def world(live: Live) -> dict[str, Any]:
    h = live.auth("tina")
    call = live.client.post("/api/calls", json={"persona": "logistics-director", "lang": "en"}, headers=h).json()
    live.client.post(f"/api/calls/{call['id']}/turns", json={"text": "How many trucks do you run?"}, headers=h)
    live.client.post(f"/api/calls/{call['id']}/end", headers=h)
    users = {u: Caller(live, u) for u in ("tina", "tom", "coach", "admin")}
    return {"call_id": call["id"], "callers": {None: Caller(live, None), **users}}


def concrete(path: str, call_id: int) -> str:
    return (path.replace("{call_id}", str(call_id)).replace("{persona_id}", "logistics-director")
            .replace("{index}", "1").replace("{user_id}", "999999").replace("{name}", "nobody")
            .replace("{code}", "ru"))


def form_for(path: str) -> dict[str, str]:
    if path == "/calls":
        return {"persona": "logistics-director", "lang": "en"}
    if path.endswith("/branch"):
        return {"turn": "1"}
    if path.endswith("/turns") and not path.startswith("/api/"):
        return {"text": "Hello there"}
    return {}


def allowed(status: int) -> bool:
    return status < 400 or status in (404, 409, 422, 413, 429)


def refused(status: int, location: str) -> bool:
    return status in (401, 403, 404) or (status in (302, 303, 307) and location.endswith("/login"))


def test_every_route_answers_each_role_as_its_policy_says(live: Live, world: dict[str, Any]) -> None:
    routes = [(m, r.path) for r in flat_routes(live.client.app.routes) for m in sorted(r.methods)]
    assert len(routes) > 40
    problems = []
    for method, path in routes:
        policy = policy_of(method, path)
        if policy == PUBLIC or path == "/logout":
            continue
        url = concrete(path, world["call_id"])
        for who, caller in world["callers"].items():
            res = caller.send(method, url, form_for(path))
            status, where = res.status_code, res.headers.get("location", "")
            if who is None:
                ok = refused(status, where)
            elif policy == SIGNED_IN:
                ok = allowed(status) and not where.endswith("/login")
            elif policy == OWNER_ONLY:
                ok = (allowed(status) and status != 404) if who == "tina" else status in (403, 404)
            elif policy == OWNER:
                reads = method == "GET" or (method, path) in READS_WHEN_ENDED
                may = who in ("tina", "coach", "admin") if reads else who == "tina"
                ok = (allowed(status) and status != 404) if may else status in (403, 404, 409)
            elif policy == STAFF:
                ok = allowed(status) if who in ("coach", "admin") else status in (403, 404)
            else:  # ADMIN
                ok = allowed(status) if who == "admin" else status in (403, 404)
            if not ok:
                problems.append(f"{who or 'anonymous'} {method} {url} -> {status} {where}")
    assert not problems, "\n".join(problems)


def test_every_form_post_needs_the_csrf_token(live: Live, world: dict[str, Any]) -> None:
    admin = world["callers"]["admin"]
    problems = []
    for route in flat_routes(live.client.app.routes):
        for method in route.methods & WRITES:
            url = concrete(route.path, world["call_id"])
            res = admin.send(method, url, form_for(route.path), csrf=False)
            if route.path.startswith("/api/"):
                if res.status_code != 403:
                    problems.append(f"{method} {url} with a wrong X-CSRF-Token -> {res.status_code}")
            elif policy_of(method, route.path) != PUBLIC and res.status_code != 403:
                problems.append(f"{method} {url} with a wrong csrf_token -> {res.status_code}")
    assert not problems, "\n".join(problems)


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=\"|\sstyle=\"", re.I)


def test_pages_carry_no_inline_script_or_style(live: Live, world: dict[str, Any]) -> None:
    """The CSP forbids inline script and style; a page that used them would break, so none may."""
    problems = []
    for route in flat_routes(live.client.app.routes):
        if "GET" not in route.methods or route.path.startswith("/api/") or route.path == "/healthz":
            continue
        url = concrete(route.path, world["call_id"])
        for caller in (world["callers"]["tina"], world["callers"]["admin"]):
            res = caller.send("GET", url)
            if res.headers.get("content-type", "").startswith("text/html"):
                found = INLINE.search(res.text)
                if found:
                    problems.append(f"{url}: {found.group(0)}")
    assert not problems, "\n".join(problems)
