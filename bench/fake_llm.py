"""A fake OpenAI-compatible chat server for the load benches: cheap, paced, and timed.

Run: `.venv/bin/python bench/fake_llm.py --port 8100 [--first-token-ms 240] [--tokens-per-s 25] [--words 20]`.
POST /v1/chat/completions answers every request with a reply of `--words` words (streamed as SSE chunks,
one word a chunk, when the request asks for `stream`): the first word `--first-token-ms` after the
request arrived, then one word every 1/tokens-per-s seconds, on an absolute schedule so a busy
machine does not stretch it. The reply's last word is `#N`, the request's number, so a bench can match
the turn it saw with the fake's own timings. GET /_timings returns, for every request, its number and
the monotonic times (CLOCK_MONOTONIC, shared by every process on the machine) when it arrived, when its
first word and its last byte were written. A request with a JSON schema (the classifier's check of an
unsure label) gets a valid JSON object, as from a server with structured output, after as long as a
whole reply; its completion id is `chatcmpl-bench-N`, which the server keeps with the turn's label
check, so a bench can subtract that wait too. GET /healthz answers
ok. Plain asyncio, no dependencies: one process serves hundreds of concurrent streams on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

WORDS = ("Yes,", "we", "looked", "at", "that", "last", "quarter,", "and", "honestly", "the", "numbers",
         "were", "not", "great", "for", "our", "fleet", "this", "year", "either")


@dataclass
class Fake:
    first_token_s: float = 0.24
    tokens_per_s: float = 25.0
    words: int = 20
    served: int = 0
    timings: list[dict[str, float]] = field(default_factory=list)

    @property
    def reply_s(self) -> float:
        """Nominal time from a request's arrival to its last word."""
        return self.first_token_s + (max(self.words, 1) - 1) / self.tokens_per_s

    def reply_words(self, number: int) -> list[str]:
        body = [WORDS[i % len(WORDS)] for i in range(max(self.words - 1, 0))]
        return [*body, f"#{number}"]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()),
               "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return _event(json.dumps(payload))


def _event(data: str) -> bytes:
    raw = f"data: {data}\n\n".encode()
    return f"{len(raw):x}\r\n".encode() + raw + b"\r\n"


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
            "connection: keep-alive\r\n\r\n")
    return head.encode() + body


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return method, path, body


async def _stream(fake: Fake, writer: asyncio.StreamWriter, request: dict[str, Any], number: int,
                  arrived: float) -> None:
    model = str(request.get("model", "fake"))
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                 b"connection: keep-alive\r\n\r\n")
    first = 0.0
    for i, word in enumerate(fake.reply_words(number)):
        due = arrived + fake.first_token_s + i / fake.tokens_per_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        content = word if i == 0 else " " + word
        delta = {"role": "assistant", "content": content} if i == 0 else {"content": content}
        writer.write(_chunk(model, delta))
        await writer.drain()
        if i == 0:
            first = time.monotonic()
    writer.write(_chunk(model, {}, "stop"))
    usage = {"prompt_tokens": 300, "completion_tokens": fake.words, "total_tokens": 300 + fake.words}
    if (request.get("stream_options") or {}).get("include_usage"):
        writer.write(_event(json.dumps({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                                        "created": int(time.time()), "model": model, "choices": [],
                                        "usage": usage})))
    writer.write(_event("[DONE]") + b"0\r\n\r\n")
    await writer.drain()
    fake.timings.append({"n": number, "arrived": arrived, "first": first, "end": time.monotonic()})


async def _whole(fake: Fake, writer: asyncio.StreamWriter, request: dict[str, Any], number: int,
                 arrived: float) -> None:
    await asyncio.sleep(max(0.0, arrived + fake.reply_s - time.monotonic()))
    text = _json_answer(request) or " ".join(fake.reply_words(number))
    body = {"id": f"chatcmpl-bench-{number}", "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 300, "completion_tokens": fake.words, "total_tokens": 300 + fake.words}}
    writer.write(_response("200 OK", json.dumps(body).encode()))
    await writer.drain()
    end = time.monotonic()
    fake.timings.append({"n": number, "arrived": arrived, "first": end, "end": end})


def _json_answer(request: dict[str, Any]) -> str | None:
    """A request with a JSON schema (the classifier's check of an unsure label) gets a valid object, as a
    real server with structured output gives: the first label the schema allows, confidence 0.9."""
    fmt = request.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    if not isinstance(schema, dict):
        return None
    labels = (schema.get("properties", {}).get("label") or {}).get("enum") or ["other"]
    return json.dumps({"label": labels[0], "confidence": 0.9, "reason": "bench fake"})


def handler(fake: Fake) -> Any:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (got := await _read_request(reader)) is not None:
                arrived = time.monotonic()
                method, path, body = got
                if method == "POST" and path.endswith("/chat/completions"):
                    fake.served += 1
                    request = json.loads(body or b"{}")
                    run = _stream if request.get("stream") else _whole
                    await run(fake, writer, request, fake.served, arrived)
                elif path.startswith("/_timings"):
                    writer.write(_response("200 OK", json.dumps(fake.timings).encode()))
                elif path.startswith("/healthz"):
                    writer.write(_response("200 OK", b'{"status": "ok"}'))
                else:
                    writer.write(_response("404 Not Found", b'{"error": {"message": "not found"}}'))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return handle


async def main_async(fake: Fake, port: int) -> None:
    server = await asyncio.start_server(handler(fake), "127.0.0.1", port, backlog=1024)
    print(f"fake LLM on http://127.0.0.1:{port}/v1: first word after {fake.first_token_s * 1000:.0f} ms, "
          f"{fake.words} words at {fake.tokens_per_s:g}/s ({fake.reply_s:.2f} s a reply)", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--first-token-ms", type=float, default=240.0)
    parser.add_argument("--tokens-per-s", type=float, default=25.0)
    parser.add_argument("--words", type=int, default=20)
    args = parser.parse_args()
    fake = Fake(first_token_s=args.first_token_ms / 1000, tokens_per_s=args.tokens_per_s, words=args.words)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(fake, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
