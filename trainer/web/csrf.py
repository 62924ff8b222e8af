"""CSRF tokens for HTML forms.

Signed-in forms carry the session's own token. Forms shown before sign-in
(sign-in, first setup) use a signed double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, Response

from trainer.services.secrets import same
from trainer.web.deps import Principal

ANON_COOKIE = "spin_csrf"


def _sign(secret_key: str, nonce: str) -> str:
    mac = hmac.new(secret_key.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{nonce}.{mac}"


def form_token(request: Request, principal: Principal | None, secret_key: str) -> str:
    if principal is not None and principal.csrf_token:
        return principal.csrf_token
    existing = request.cookies.get(ANON_COOKIE, "")
    if existing and _valid_anon(existing, secret_key):
        return existing
    token = _sign(secret_key, secrets.token_urlsafe(16))
    request.state.new_anon_csrf = token
    return token


def remember_anon_token(request: Request, response: Response, secure: bool) -> None:
    token = getattr(request.state, "new_anon_csrf", None)
    if token:
        response.set_cookie(ANON_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/")


def _valid_anon(token: str, secret_key: str) -> bool:
    nonce, _, _mac = token.partition(".")
    return bool(nonce) and same(_sign(secret_key, nonce), token)


def check_form(request: Request, principal: Principal | None, submitted: str, secret_key: str) -> None:
    """Refuse a form post whose token does not match (403 with a message that says what to do)."""
    if principal is not None and principal.csrf_token:
        ok = bool(submitted) and same(submitted, principal.csrf_token)
    else:
        cookie = request.cookies.get(ANON_COOKIE, "")
        ok = bool(submitted) and bool(cookie) and same(submitted, cookie) and _valid_anon(cookie, secret_key)
    if not ok:
        raise HTTPException(403, "the form's security token is missing or out of date; reload the page and "
                                 "submit again")
