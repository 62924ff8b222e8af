"""The ceiling for bench/capacity.py: a bare FastAPI JSON echo, served by uvicorn like the real app.

Run: `.venv/bin/python -m uvicorn bench.echo_app:app --host 127.0.0.1 --port 8200`.
POST /echo takes the same body as a turn ({"text": ...}) into a pydantic model, in a plain `def`
handler (run in the thread pool, like the app's own handlers), and answers it back as JSON.
No database, no auth, no middleware: what FastAPI and uvicorn cost on their own.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

app = FastAPI(title="echo")


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/echo")
def echo(body: TurnIn) -> dict[str, Any]:
    return {"trainee": {"text": body.text}, "ended": False}
