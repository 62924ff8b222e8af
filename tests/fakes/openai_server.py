"""A small OpenAI-compatible chat server on loopback, for exact behaviours of the LLM path.

Each request is served by one behaviour: the next one in `script` while it lasts,
then `mode`. Behaviours:
  ok          a reply (streamed as SSE chunks when the request asks for `stream`)
  error       500 with an OpenAI error body
  rate_limit  429 with `Retry-After: retry_after`
  bad_request 400 (not worth a retry)
  slow        waits `delay_s` before the headers, then answers like ok
  cut         streams about half the reply, then drops the connection mid-body
  malformed   streams a couple of chunks, then a data line that is not JSON
  empty       a reply with no text
Streams send one word per chunk, `tokens_per_s` of them a second (0: no pacing),
after `first_token_delay_s`; usage comes in a last chunk with no choices when the
request sets `stream_options.include_usage` and `usage` is True. Every request
body, its behaviour and its arrival time are kept for assertions, and `dropped`
counts the streams the client closed before their end.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMPT_TOKENS = 42
COMPLETION_TOKENS = 7  # what the fake reports, whatever the reply


@dataclass
class FakeOpenAI:
    mode: str = "ok"
    reply: str = "Hello, yes, speaking."
    delay_s: float = 0.0
    first_token_delay_s: float = 0.0
    tokens_per_s: float = 0.0
    retry_after: str = "1"
    usage: bool = True
    model: str | None = None  # the model name the server reports; the requested one if None
    script: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    targets: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # each request's path and headers
    served: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)  # the client's address of each request
    dropped: int = 0  # streams the client closed before their end
    base_url: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def next_behaviour(self) -> str:
        return self.script.pop(0) if self.script else self.mode

    def words(self) -> list[str]:
        return re.findall(r"\s*\S+", self.reply)


def _handler(state: FakeOpenAI, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                behaviour = state.next_behaviour()
                state.requests.append(body)
                state.targets.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                state.served.append(behaviour)
                state.times.append(time.monotonic())
                state.peers.append(self.client_address)
            if behaviour == "slow":
                state.stop.wait(state.delay_s)
            if behaviour == "error":
                self._json(500, {"error": {"message": "boom", "type": "server_error"}})
            elif behaviour == "bad_request":
                self._json(400, {"error": {"message": "bad model", "type": "invalid_request_error"}})
            elif behaviour == "rate_limit":
                self._json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}},
                           {"retry-after": state.retry_after})
            elif body.get("stream"):
                try:
                    self._stream(body, behaviour)
                except (BrokenPipeError, ConnectionResetError):
                    with lock:
                        state.dropped += 1
                    self.close_connection = True
            else:
                text = "" if behaviour == "empty" else state.reply
                self._json(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": state.model or body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": _USAGE,
                })

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any] | str) -> None:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            self._chunk(f"data: {text}\n\n".encode())

        def _stream(self, body: dict[str, Any], behaviour: str) -> None:
            model = state.model or body.get("model", "fake")
            words = [] if behaviour == "empty" else state.words()

            def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
                return {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            if state.stop.wait(state.first_token_delay_s):
                return
            self._event(chunk({"role": "assistant", "content": ""}))
            for i, word in enumerate(words):
                if behaviour == "cut" and i >= max(1, len(words) // 2):
                    self.connection.shutdown(socket.SHUT_RDWR)  # no closing chunk: an incomplete body
                    self.close_connection = True
                    return
                if behaviour == "malformed" and i == min(2, len(words) - 1):
                    self._event('{"choices": [{"index": 0, "delta": {"content": "half')
                if state.tokens_per_s and state.stop.wait(1 / state.tokens_per_s):
                    return
                self._event(chunk({"content": word}))
            self._event(chunk({}, "stop"))
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            if include and state.usage:
                self._event({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": model, "choices": [], "usage": _USAGE})
            self._event("[DONE]")
            self._chunk(b"")

    return Handler


_USAGE = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
          "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hung up on a slow reply is expected here


@contextmanager
def fake_openai(**kwargs: Any) -> Iterator[FakeOpenAI]:
    state = FakeOpenAI(**kwargs)
    server = _QuietServer(("127.0.0.1", 0), _handler(state, threading.Lock()))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback base URL where nothing listens: connecting to it is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1"
