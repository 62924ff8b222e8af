"""The floor for the LLM targets: a bare FastAPI relay of the model's stream, served as the app is served.

Run (as the server of the turns bench, one or more processes):
  SPIN_BENCH_SERVER=bench/relay_app.py .venv/bin/python bench/turns.py --engine llm --trainees 200 --no-docs
As a SPIN_BENCH_SERVER launcher it takes `spin-trainer serve`'s arguments and serves, with uvicorn on
uvloop and httptools like the app, the routes the turns bench calls: a call start answers an id, a
streamed turn sends its `trainee` event, asks the model (the same request body shape, on the app's own
HTTP client, `trainer.engines.h1`, read with its own event splitter, `trainer.engines.sse`) and
relays each word as a `token` event, then `done` with the reply's text; a hang-up answers ok. No
sign-in, no database, no label, no director, no stored turn: what the web framework, the server and
the HTTP client cost a streamed turn on this machine. Its server time and first-token overhead under
the same load are the least the app could reach here (bench/capacity.py's echo is the same idea for
plain turns): the gap between the two is the app's own work.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from trainer.engines.h1 import async_http_client
from trainer.engines.sse import SSEData
from trainer.web.streaming import sse  # the app's own event format


def create_app(model_url: str) -> FastAPI:
    """The relay: `model_url` is the OpenAI-compatible server's base (`OPENAI_BASE_URL`)."""
    app = FastAPI(title="relay")
    ids = itertools.count(1)
    state: dict[str, Any] = {}

    def http() -> Any:
        if "http" not in state:  # made on the serving loop, as the app makes its async client
            state["http"] = async_http_client()
        return state["http"]

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/calls", status_code=201)
    def start() -> dict[str, int]:
        return {"id": next(ids)}

    @app.post("/api/calls/{call_id}/turns")
    def turn(call_id: int) -> dict[str, Any]:
        return {"client": None, "ended": False}

    @app.post("/api/calls/{call_id}/end")
    def end(call_id: int) -> dict[str, Any]:
        return {"ended": True}

    @app.post("/api/calls/{call_id}/turns/stream")
    async def turn_stream(call_id: int, request: Request) -> StreamingResponse:
        text = (await request.json())["text"]
        body = {"model": "relay", "messages": [{"role": "user", "content": text}], "max_tokens": 120,
                "stream": True, "stream_options": {"include_usage": True}}

        async def events() -> AsyncIterator[str]:
            yield sse("trainee", {"text": text, "label": "situation"})
            words: list[str] = []
            req = http().build_request("POST", f"{model_url}/chat/completions", content=json.dumps(body).encode(),
                                       headers={"Authorization": "Bearer x", "Content-Type": "application/json"})
            response = await http().send(req, stream=True)
            try:
                splitter = SSEData()
                async for raw in response.aiter_raw():
                    for data in splitter.feed(raw):
                        chunk = json.loads(data)
                        choices = chunk.get("choices") or [{}]
                        if piece := (choices[0].get("delta") or {}).get("content"):
                            words.append(piece)
                            yield sse("token", {"text": piece})
            finally:
                await response.aclose()
            yield sse("done", {"client": {"text": "".join(words).strip()}, "ended": False})

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-migrate", action="store_true", help="accepted for the bench's command line")
    args = parser.parse_args()
    model_url = os.environ.get("OPENAI_BASE_URL", "").rstrip("/")
    if not model_url:
        print("relay_app: set OPENAI_BASE_URL to the model server's base URL (the turns bench does)",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    uvicorn.run("relay_app:app_from_env", factory=True, host=args.host, port=args.port, workers=args.workers,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")
    return 0


def app_from_env() -> FastAPI:
    """The app for each uvicorn worker process (they import it anew, by name)."""
    return create_app(os.environ["OPENAI_BASE_URL"].rstrip("/"))


if __name__ == "__main__":
    raise SystemExit(main())
