"""The load generators' HTTP/1.1 client against a real server on loopback: JSON, chunked events, keep-alive."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar

import pytest

from tests.unit.bench_modules import load_bench

wire = load_bench("wire")
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a thread of its own: the browser tests may leave a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[list[tuple[str, int]]] = []

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        Handler.peers.append(self.client_address)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/json":
            out = json.dumps({"got": json.loads(body), "auth": self.headers.get("Authorization")}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            if body and json.loads(body).get("close"):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(out)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = 'event: trainee\ndata: {"i": 1}\n\nevent: token\ndata: {"text": "Да"}\n\n'.encode()
        for piece in (events[:20], events[20:41], events[41:], b"event: done\ndata: {}\n\n"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture()
def base() -> Iterator[str]:
    Handler.peers = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_json_and_chunked_events_on_one_kept_alive_connection(base: str) -> None:
    async def talk() -> tuple[object, object, list[tuple[str, object]], object]:
        conn = wire.Connection(base, {"Authorization": "Bearer t"}, timeout=10)
        try:
            first = await conn.request("POST", "/json", {"a": 1})
            status, body = await conn.stream("POST", "/sse", {"text": "hi"})
            events = [(name, json.loads(data)) async for name, data in wire.sse_events(body)]
            last = await conn.request("POST", "/json", {"b": 2})
            return (first.status, first.json()), status, events, last.json()
        finally:
            conn.close()

    first, status, events, last = run(talk())
    assert first == (201, {"got": {"a": 1}, "auth": "Bearer t"})
    assert status == 200
    assert events == [("trainee", {"i": 1}), ("token", {"text": "Да"}), ("done", {})]
    assert last == {"got": {"b": 2}, "auth": "Bearer t"}
    assert len(set(Handler.peers)) == 1  # three requests, one connection


def test_a_connection_the_server_closed_is_opened_again(base: str) -> None:
    async def talk() -> list[object]:
        conn = wire.Connection(base, timeout=10)
        try:
            return [(await conn.request("POST", "/json", body)).json()["got"] for body in ({"close": 1}, {"n": 2})]
        finally:
            conn.close()

    assert run(talk()) == [{"close": 1}, {"n": 2}]
    assert len(set(Handler.peers)) == 2


def test_nothing_listening_is_a_wire_error() -> None:
    async def talk() -> None:
        await wire.Connection("http://127.0.0.1:9", timeout=5).request("POST", "/json", {})

    with pytest.raises(wire.WireError, match="connect"):
        run(talk())
    with pytest.raises(ValueError, match="http://host:port"):
        wire.Connection("https://example.test")
