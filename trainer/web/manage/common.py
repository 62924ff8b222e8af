"""What every trainer and manager page shares: who may open it, rendering, and the located-error listing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trainer.web.deps import Ctx, Principal
from trainer.web.pages import render

FormStr = Annotated[str, Form()]


def is_admin(who: Principal | None) -> bool:
    return who is not None and who.user.role == "admin"


def refuse(request: Request, ctx: Ctx, who: Principal | None) -> Response:
    """Anonymous: to the sign-in page. Signed in without the role: a translated 403 page."""
    if who is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, ctx, who, "error.html", status=403, message_key="m_forbidden")


def not_found(request: Request, ctx: Ctx, who: Principal | None) -> HTMLResponse:
    return render(request, ctx, who, "error.html", status=404, message_key="m_not_found")


def page(request: Request, ctx: Ctx, who: Principal, template: str, status: int = 200,
         **values: Any) -> HTMLResponse:
    """A manage page: the shared render plus whether the viewer may change admin-only things."""
    return render(request, ctx, who, f"manage/{template}", status=status, is_admin=is_admin(who), **values)


def back(url: str, notice: str = "") -> RedirectResponse:
    """Post/redirect/get; `notice` is a locale key the next page shows once."""
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}done={notice}" if notice else url, status_code=303)


# --- YAML editor listing: errors shown at their line -------------------------------------------
@dataclass(frozen=True)
class Located:
    line: int | None
    field: str
    message: str


@dataclass
class ListingLine:
    number: int
    text: str
    problems: list[Located] = field(default_factory=list)
    gap_before: bool = False


CONTEXT_LINES = 2


def listing(text: str, problems: Sequence[Located]) -> tuple[list[ListingLine], list[Located], list[Located]]:
    """The lines around each located problem (numbered, problems attached), the problems with no line,
    and all problems with their line clamped to the text (YAML that ends early is blamed on its last line).
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    by_line: dict[int, list[Located]] = {}
    unplaced = []
    clamped = []
    for p in problems:
        if p.line is None or p.line < 1:
            unplaced.append(p)
            clamped.append(p)
        else:
            here = Located(min(p.line, len(lines)), p.field, p.message)
            by_line.setdefault(here.line or 1, []).append(here)
            clamped.append(here)
    shown: set[int] = set()
    for n in by_line:
        shown.update(range(max(1, n - CONTEXT_LINES), min(len(lines), n + CONTEXT_LINES) + 1))
    out: list[ListingLine] = []
    previous = 0
    for n in sorted(shown):
        out.append(ListingLine(n, lines[n - 1], by_line.get(n, []), gap_before=bool(out) and n != previous + 1))
        previous = n
    clamped.sort(key=lambda p: (p.line is not None, p.line or 0))
    return out, unplaced, clamped
