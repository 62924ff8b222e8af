"""A lean HTTP/1.1 client for the load generators: one keep-alive connection per simulated trainee.

The load generator shares the machine's cores with the server it measures. Through httpx (request
and response objects, a connection pool, decoders, SSE read line by line) a streamed turn cost the
generator about half as much CPU as it cost the server, and that CPU was taken from the server.
This client writes the request bytes itself and reads the status line, headers and body (by
Content-Length, or chunked) straight off an asyncio stream: a browser-like trainee for a fraction of
the CPU. It speaks only what `spin-trainer serve` (uvicorn) answers: HTTP/1.1, JSON bodies, chunked
server-sent events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class WireError(Exception):
    """The connection failed or the server broke the protocol (the bench counts it as an error).

    Messages read "<stage>: <detail>"; `kind` is the stage, what the benches count errors by."""

    @property
    def kind(self) -> str:
        return str(self).split(":")[0]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection to `base` (http://host:port), opened on first use and again
    after the server closed it. Not for concurrent requests: one trainee, one request at a time."""

    def __init__(self, base: str, headers: dict[str, str] | None = None, timeout: float = 120.0) -> None:
        url = urlsplit(base)
        if url.scheme != "http" or not url.hostname or not url.port:
            raise ValueError(f"expected http://host:port, not {base!r}")
        self.host, self.port, self.timeout = url.hostname, url.port, timeout
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> Reply:
        """A whole request and its whole response; `body` is sent as JSON when given."""
        try:
            async with asyncio.timeout(self.timeout):
                status, headers = await self._send(method, path, body)
                chunks = [piece async for piece in self._body(headers)]
                return Reply(status, b"".join(chunks))
        except TimeoutError as exc:
            self.close()
            raise WireError(f"timeout: no whole reply within {self.timeout:g} s") from exc

    async def stream(self, method: str, path: str, body: Any = None) -> tuple[int, AsyncIterator[bytes]]:
        """The status at once, then the body's pieces as they arrive. Read them all before the next request;
        a body left unread (or a timeout while reading it) must be followed by `close()`."""
        try:
            status, headers = await asyncio.wait_for(self._send(method, path, body), self.timeout)
        except TimeoutError as exc:
            self.close()
            raise WireError(f"timeout: no reply headers within {self.timeout:g} s") from exc
        return status, self._body(headers)

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def _send(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str]]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._fixed}"
                f"Content-Length: {len(payload)}\r\n"
                + ("Content-Type: application/json\r\n" if body is not None else "") + "\r\n")
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: open a new one, once
            if self._writer is None:
                try:
                    self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                except OSError as exc:
                    raise WireError(f"connect: {exc}") from exc
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(head.encode() + payload)
                raw = await self._reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError) as exc:
                self.close()
                if attempt == 2:
                    raise WireError(f"send: {exc!r}") from exc
                continue
            lines = raw.decode("latin-1").split("\r\n")
            try:
                status = int(lines[0].split(" ", 2)[1])
            except (IndexError, ValueError) as exc:
                raise WireError(f"status: bad status line {lines[0]!r}") from exc
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            return status, headers
        raise AssertionError("unreachable")

    async def _body(self, headers: dict[str, str]) -> AsyncIterator[bytes]:
        reader = self._reader
        assert reader is not None
        try:
            if headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    if size == 0:
                        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
                            pass
                        break
                    piece = await reader.readexactly(size + 2)
                    yield piece[:-2]
            elif "content-length" in headers:
                length = int(headers["content-length"])
                if length:
                    yield await reader.readexactly(length)
            else:  # delimited by the close
                yield await reader.read()
                self.close()
                return
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            self.close()
            raise WireError(f"body: {exc!r}") from exc
        if headers.get("connection", "").lower() == "close":
            self.close()


async def sse_events(pieces: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, bytes]]:
    """(event name, data) of each server-sent event in a body read in pieces (LF line ends, as served)."""
    rest = b""
    async for piece in pieces:
        rest += piece
        while b"\n\n" in rest:
            block, _, rest = rest.partition(b"\n\n")
            event, data = "message", []
            for line in block.split(b"\n"):
                name, _, value = line.partition(b":")
                if name == b"event":
                    event = value.strip().decode()
                elif name == b"data":
                    data.append(value[1:] if value.startswith(b" ") else value)
            if data:
                yield event, b"\n".join(data)
