"""Security headers on every response and the first-start setup gate, as plain ASGI middleware.

Plain ASGI rather than `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware` runs every request
in an extra task and copies every streamed body chunk through a memory channel, which cost more per
turn than the rest of the request path and added a hop to each token of a streamed reply.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainer.services import accounts
from trainer.web.context import AppContext

SETUP_OPEN_PATHS = ("/setup", "/healthz", "/static/")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'")


class SetupGateAndHeaders:
    """Until the first account exists, everything but the setup page answers "set up first"; every
    response gets the security headers (a handler's own header of the same name wins, except on the
    API docs pages, which need inline script)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if docs:
                    headers["Content-Security-Policy"] = DOCS_CSP
            await send(message)

        ctx: AppContext | None = getattr(scope["app"].state, "ctx", None)
        if ctx is not None and not ctx.has_users:
            ctx.has_users = _users_exist(ctx)
            if not ctx.has_users and not path.startswith(SETUP_OPEN_PATHS):
                await _setup_required(Request(scope))(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


def _users_exist(ctx: AppContext) -> bool:
    with ctx.sessions() as db:
        return accounts.user_count(db) > 0


def _setup_required(request: Request) -> Response:
    message = "no account exists yet: open the one-time setup link printed on the server console"
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(status_code=503, content={"detail": message})
    return RedirectResponse("/setup", status_code=303)
