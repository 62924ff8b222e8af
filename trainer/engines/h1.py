"""HTTP/1.1 for the model's requests on httptools, as an httpx transport of the web server's model client.

Why: a streamed reply is read one token at a time, and under httpx's own transport each token went
through httpcore's connection and h11's pure-Python parser: about 0.1 M instructions a token more than
a bare reader of the same stream (bench/instructions.py, round 10), a tenth of a streamed turn. Here the
response is parsed as it arrives by httptools (llhttp, the C parser uvicorn already serves with) in the
socket's own callback, and a read of the body takes whatever has arrived since the last one.

What it keeps of httpx's transport: keep-alive connections pooled per origin (`Limits`: at most
`max_connections` open, `max_keepalive_connections` idle, none reused after `keepalive_expiry` idle
seconds or once the server closed it or sent something unasked), the four timeouts of a request
(connect, write, read, pool), TLS with the client's certificate checks, and httpx's exceptions
(`ConnectError`, `ReadTimeout`, `RemoteProtocolError`, ...), so callers cannot tell the difference. A
request it does not speak for (HEAD, whose response has no body however it is framed, or a scheme other
than http and https) goes to the `fallback` transport. Behind a proxy the engine does not use it at all
(`async_http_client`).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from typing import Any, cast

import httptools
import httpx2

from trainer.engines.netio import HIGH_WATER, LIMITS, AsyncioTransport, SocketProtocol, wake

Key = tuple[bytes, bytes, int]
_NO_BODY = (204, 304)


class _Conn(SocketProtocol):
    """One connection and the response it is reading, parsed as its bytes arrive (netio's protocol for the
    rest: the end of the stream, the socket's error in `error`, room to write; `body` instead of `chunks`)."""

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key
        self.parser: httptools.HttpResponseParser | None = None  # set while a response is awaited
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head = False  # the final response's status and headers are in
        self.complete = False  # and its whole body
        self.keep_alive = False
        self.until_close = False  # the body ends when the server closes the connection
        self.body: collections.deque[bytes] = collections.deque()
        self.invalid: Exception | None = None  # a response that is not HTTP/1.1
        self.unasked = False  # bytes came while no response was awaited: never reuse
        self.idle_since = 0.0
        self.discarded = False  # closed for good, its place in the pool freed
        self.close_asked = False  # the request said `Connection: close`
        self._interim = False

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None or self.complete:
            self.unasked = True
            return
        try:
            parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:  # nothing here asks for an upgrade
            self.invalid = httpx2.RemoteProtocolError(f"the server's response is not valid HTTP/1.1: {exc}")
        if self.buffered > HIGH_WATER and not self.paused_reading and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        wake(self._reader)

    # --- httptools' callbacks (a second response in the same bytes is unasked: only marked)

    def on_message_begin(self) -> None:
        if self.complete:
            self.unasked = True

    def on_status(self, reason: bytes) -> None:
        if not self.complete:
            self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        if self.complete:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim response (100 Continue, 103 Early Hints): the real one follows
            self._interim = True
            self.headers, self.reason = [], b""
            return
        self.status, self.head = status, True
        framed = any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers)
        self.until_close = not framed and status not in _NO_BODY

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self.body.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        assert self.parser is not None
        if self.complete:
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive() and not self.close_asked

    # --- used by the transport

    def expect_response(self) -> None:
        """A request is about to go out: parse what comes back as its response."""
        self.parser = httptools.HttpResponseParser(self)
        self.status, self.reason, self.headers = 0, b"", []
        self.head = self.complete = self.keep_alive = self.until_close = False

    def reusable(self, now: float, expiry: float | None) -> bool:
        transport = self.transport
        return (transport is not None and not transport.is_closing() and not self.eof and not self.unasked
                and self.invalid is None and (expiry is None or now - self.idle_since < expiry))

    async def wait(self, timeout: float | None) -> None:
        """Until the next bytes, the end or an error arrive; TimeoutError after `timeout` seconds."""
        await self.woken(asyncio.get_running_loop().time() + timeout if timeout is not None else None)

    def take_body(self) -> bytes:
        """What arrived of the body since the last call (one piece however many reads it took)."""
        chunk = self.body.popleft() if len(self.body) == 1 else b"".join(self.body)
        self.body.clear()
        self.buffered = 0
        if self.paused_reading and self.transport is not None:
            self.paused_reading = False
            self.transport.resume_reading()
        return chunk

    def ended_early(self, what: str) -> httpx2.TransportError:
        """The error for a connection that ended (or broke) before `what` was in."""
        if self.error is not None:
            return httpx2.ReadError(str(self.error) or type(self.error).__name__)
        return httpx2.RemoteProtocolError(f"the server closed the connection before {what}")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class H1Transport(httpx2.AsyncBaseTransport):
    """httpx's transport for HTTP/1.1 on httptools (see the module's docstring). One event loop only."""

    def __init__(self, verify: ssl.SSLContext | str | bool = True, limits: httpx2.Limits = LIMITS,
                 fallback: httpx2.AsyncBaseTransport | None = None) -> None:
        self._ssl = httpx2.create_ssl_context(verify=verify)
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections is not None else None
        self._idle: dict[Key, list[_Conn]] = {}
        self._idle_count = 0
        self._limits = limits
        self._sent: dict[int, tuple[httpx2.Request, _Conn]] = {}  # by id(request): written by `send_now`
        self._fallback = fallback  # made on first use: it is rarely needed, and its TLS set-up reads the CAs again

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if request.method == "HEAD" or url.scheme not in ("http", "https"):
            if self._fallback is None:
                self._fallback = AsyncioTransport(verify=self._ssl, limits=self._limits)
            return await self._fallback.handle_async_request(request)
        timeouts = request.extensions.get("timeout", {})
        sent = self._sent.pop(id(request), None)
        conn = sent[1] if sent is not None else await self._connection(url, timeouts)
        try:
            if sent is None:
                await _send(conn, request, timeouts.get("write"))
            elif conn.write_paused:  # written by `send_now`, not all of it taken by the socket yet
                await _drained(conn, timeouts.get("write"))
            read_timeout = timeouts.get("read")
            while not conn.head:
                if conn.invalid is not None:
                    raise conn.invalid
                if conn.eof:
                    raise conn.ended_early("it sent a response")
                try:
                    await conn.wait(read_timeout)
                except TimeoutError:
                    raise httpx2.ReadTimeout("timed out waiting for the response") from None
        except BaseException:
            self._discard(conn)
            raise
        return httpx2.Response(conn.status, headers=conn.headers, stream=_Body(self, conn, read_timeout),
                               extensions={"http_version": b"HTTP/1.1", "reason_phrase": conn.reason})

    async def _connection(self, url: httpx2.URL, timeouts: dict[str, Any]) -> _Conn:
        """A pooled connection to the URL's origin that is still good, or a new one."""
        key = _key(url)
        port = key[2]
        loop = asyncio.get_running_loop()
        conn = self._idle_conn(key, loop.time())
        if conn is not None:
            return conn
        if self._slots is not None:
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx2.PoolTimeout("no connection came free in time") from None
        try:
            return await self._connect(loop, key, url.host, port, timeouts.get("connect"))
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise

    def _idle_conn(self, key: Key, now: float) -> _Conn | None:
        """An idle pooled connection to `key` that is still good, taken out of the pool, or None."""
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.reusable(now, self._limits.keepalive_expiry):
                conn.expect_response()
                return conn
            self._discard(conn)
        return None

    def send_now(self, request: httpx2.Request) -> bool:
        """Write `request` at once, on an idle pooled connection, if there is one (True), and leave its
        response for `handle_async_request` with the same request; False (nothing done) otherwise.

        Why: the model's request was written from the first step of the task that reads its reply, one
        more turn of a busy event loop after the turn asked for it (2 to 5 ms at the 95th percentile under
        load, bench/phases.py). Called on the loop, this writes it there and then. A request sent so that
        is then not wanted is dropped with `forget` (its connection closed, so the server stops)."""
        url = request.url
        if request.method == "HEAD" or url.scheme not in ("http", "https") or id(request) in self._sent:
            return False
        try:
            content = request.content
        except httpx2.RequestNotRead:  # a streamed body: sent the usual way
            return False
        conn = self._idle_conn(_key(url), asyncio.get_running_loop().time())
        if conn is None:
            return False
        transport = conn.transport
        assert transport is not None  # reusable() checked it is open
        conn.close_asked = _asks_close(request)
        transport.write(_head(request) + content)
        self._sent[id(request)] = (request, conn)
        return True

    def forget(self, request: httpx2.Request) -> None:
        """Drop a request `send_now` wrote and nobody will read: its connection is closed."""
        sent = self._sent.pop(id(request), None)
        if sent is not None:
            self._discard(sent[1])

    async def _connect(self, loop: asyncio.AbstractEventLoop, key: Key, host: str, port: int,
                       timeout: float | None) -> _Conn:
        tls = self._ssl if key[0] == b"https" else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(lambda: _Conn(key), host, port, ssl=tls,
                                                       server_hostname=host if tls is not None else None)
        except TimeoutError:
            raise httpx2.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx2.ConnectError(str(exc) or type(exc).__name__) from exc
        conn.expect_response()
        return conn

    def _release(self, conn: _Conn) -> None:
        """A response read to its end: its connection goes back to the pool if the server keeps it open."""
        if not (conn.keep_alive and conn.reusable(0.0, None)) or (
                self._limits.max_keepalive_connections is not None
                and self._idle_count >= self._limits.max_keepalive_connections):
            self._discard(conn)
            return
        conn.parser = None
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(conn.key, []).append(conn)
        self._idle_count += 1

    def _discard(self, conn: _Conn) -> None:
        """Close a connection for good and free its place (once)."""
        if conn.discarded:
            return
        conn.discarded = True
        conn.parser = None
        conn.close()
        if self._slots is not None:
            self._slots.release()

    async def aclose(self) -> None:
        for _, conn in self._sent.values():
            self._discard(conn)
        self._sent.clear()
        for conns in self._idle.values():
            for conn in conns:
                self._discard(conn)
        self._idle.clear()
        self._idle_count = 0
        if self._fallback is not None:
            await self._fallback.aclose()


async def _send(conn: _Conn, request: httpx2.Request, timeout: float | None) -> None:
    """Write the request: its head and body in one write when the body is already in memory."""
    conn.close_asked = _asks_close(request)
    head = _head(request)
    try:
        await _write(conn, head + request.content, timeout)
    except httpx2.RequestNotRead:  # a streamed body
        await _write(conn, head, timeout)
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        async for piece in cast(AsyncIterator[bytes], request.stream):
            if piece:
                await _write(conn, b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece, timeout)
        if chunked:
            await _write(conn, b"0\r\n\r\n", timeout)


async def _write(conn: _Conn, data: bytes, timeout: float | None) -> None:
    transport = conn.transport
    if transport is None or transport.is_closing():
        raise conn.ended_early("the request was sent") if conn.eof else httpx2.WriteError("the connection is closed")
    transport.write(data)
    if conn.write_paused:
        await _drained(conn, timeout)


async def _drained(conn: _Conn, timeout: float | None) -> None:
    try:
        async with asyncio.timeout(timeout):
            await conn.wait_drained()
    except TimeoutError:
        raise httpx2.WriteTimeout("timed out sending the request") from None


def _key(url: httpx2.URL) -> Key:
    return url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80)


def _asks_close(request: httpx2.Request) -> bool:
    return request.headers.get("connection", "").lower() == "close"


def _head(request: httpx2.Request) -> bytes:
    """The request line and headers, as written."""
    head = bytearray(b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path))
    for name, value in request.headers.raw:
        head += b"%s: %s\r\n" % (name, value)
    head += b"\r\n"
    return bytes(head)


class _Body(httpx2.AsyncByteStream):
    """A response's body as it arrives; its connection goes back to the pool once the body is all read."""

    def __init__(self, owner: H1Transport, conn: _Conn, timeout: float | None) -> None:
        self._owner = owner
        self._conn = conn
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            if conn.body:
                yield conn.take_body()
                continue
            if conn.complete:
                break
            if conn.invalid is not None:
                raise conn.invalid
            if conn.eof:
                if conn.until_close and conn.error is None:
                    break  # a body without a length ends with the connection
                raise conn.ended_early("the whole body was sent")
            try:
                await conn.wait(self._timeout)
            except TimeoutError:
                raise httpx2.ReadTimeout("timed out reading the response") from None
        self._finish(complete=True)

    async def aclose(self) -> None:
        self._finish(complete=False)

    def _finish(self, complete: bool) -> None:
        if self._done:
            return
        self._done = True
        if complete and self._conn.complete:
            self._owner._release(self._conn)
        else:  # left unread (the reader stopped, or the body ended with the connection): not reusable
            self._owner._discard(self._conn)


def async_http_client() -> httpx2.AsyncClient:
    """The HTTP client for `openai.AsyncOpenAI`: the openai defaults, on `H1Transport`.

    Unless a proxy is set in the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, as `urllib` reads them):
    httpx honours those only for a client given no transport of its own, so behind a proxy the client
    keeps httpx's transports, and the requests go where the proxy settings say.
    """
    import urllib.request

    import openai

    if any(urllib.request.getproxies().get(scheme) for scheme in ("http", "https", "all")):
        return openai.DefaultAsyncHttpxClient()
    return openai.DefaultAsyncHttpxClient(transport=H1Transport())
