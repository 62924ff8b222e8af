"""The async model client's sockets on plain asyncio, for the web server's streamed replies.

httpcore's default backend reads through AnyIO: every read of the model's stream (one per token) enters
a cancel scope for its timeout, turns the socket's reading on, waits, and turns it off again (two
changes to the event loop's watch list). Streaming 40 replies at once, that was a large part of what
reading the model cost the server. Here the socket is read all along into a buffer, as asyncio's own
streams do; a read returns what is buffered, and only a read that must wait arms a timer. Connecting,
TLS, timeouts and errors behave as httpcore's contract says (its `ConnectError`, `ReadTimeout`, ...).
Since round 12 of docs/benchmarks.md it is the fallback of `trainer.engines.h1` (requests that one does
not speak for); behind a proxy neither is used (`h1.async_http_client`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
from collections.abc import Iterable, Iterator
from typing import Any, cast

import httpcore2
import httpx2
from httpcore2 import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream

# Reading pauses while this much is buffered and unread (a large non-streamed body read slowly).
HIGH_WATER = 1 << 20


class SocketProtocol(asyncio.Protocol):
    """Buffers what arrives; wakes the one reader waiting; pauses the socket when too much is unread."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.paused_reading = False
        self._reader: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self.write_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike: no isinstance check here
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and self.transport is not None and not self.paused_reading:
            self.transport.pause_reading()
            self.paused_reading = True
        wake(self._reader)

    def eof_received(self) -> bool | None:
        self.eof = True
        wake(self._reader)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        wake(self._reader)
        self.resume_writing()  # a writer waiting for room must wake and find the connection gone

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        wake(self._drained)

    async def readable(self, timeout: float | None) -> None:
        """Wait until bytes, the end of the stream or an error arrive; TimeoutError after `timeout` s.

        A streamed reply waits here once for every token: one future and, with a timeout, one timer
        handle, instead of `asyncio.timeout` inside a context manager that mapped errors which cannot
        arise while waiting (5 K fewer instructions a token, 3 % of reading one).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        while not self.chunks and not self.eof:
            await self.woken(deadline)

    async def woken(self, deadline: float | None) -> None:
        """Until a callback above wakes the reader (bytes, the end, an error); TimeoutError at `deadline`
        (the loop's time)."""
        loop = asyncio.get_running_loop()
        waiter = self._reader = loop.create_future()
        timer = loop.call_at(deadline, time_out, waiter) if deadline is not None else None
        try:
            await waiter
        finally:
            self._reader = None
            if timer is not None:
                timer.cancel()

    async def wait_drained(self) -> None:
        await self._until("_drained")

    async def _until(self, slot: str) -> None:
        """Wait until the future put in `slot` is resolved by a callback above."""
        setattr(self, slot, asyncio.get_running_loop().create_future())
        try:
            await getattr(self, slot)
        finally:
            setattr(self, slot, None)


def time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("timed out"))


def wake(waiter: asyncio.Future[None] | None) -> None:
    """Wake whoever waits on `waiter` (if anyone does, and it was not woken already)."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


@contextlib.contextmanager
def _mapped(timeout_error: type[Exception], os_error: type[Exception]) -> Iterator[None]:
    """asyncio's and the socket's errors as httpcore's, which httpx turns into its own."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except (OSError, ssl.SSLError) as exc:
        raise os_error(str(exc) or type(exc).__name__) from exc


class AsyncioStream(AsyncNetworkStream):
    """One connection: a transport and the protocol buffering its bytes."""

    def __init__(self, transport: asyncio.Transport, protocol: SocketProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        # read now: a TLS transport answers nothing once it is closed
        self._extra = {name: transport.get_extra_info(name)
                       for name in ("ssl_object", "sockname", "peername", "socket")}

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        proto = self._protocol
        if not proto.chunks and not proto.eof:
            try:
                await proto.readable(timeout)
            except TimeoutError as exc:
                raise httpcore2.ReadTimeout(str(exc) or "timed out") from exc
        if not proto.chunks:
            if proto.error is not None:
                raise httpcore2.ReadError(str(proto.error) or type(proto.error).__name__) from proto.error
            return b""
        chunk = proto.chunks.popleft()
        if len(chunk) > max_bytes:
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            proto.chunks.appendleft(rest)
        proto.buffered -= len(chunk)
        if proto.paused_reading and proto.buffered <= HIGH_WATER // 4:
            proto.paused_reading = False
            self._transport.resume_reading()
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        proto = self._protocol
        with _mapped(httpcore2.WriteTimeout, httpcore2.WriteError):
            if self._transport.is_closing():
                raise ConnectionResetError("the connection is closed")
            self._transport.write(buffer)
            if proto.write_paused:
                async with asyncio.timeout(timeout):
                    await proto.wait_drained()

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped(httpcore2.ConnectTimeout, httpcore2.ConnectError):
            try:
                async with asyncio.timeout(timeout):
                    transport = await loop.start_tls(self._transport, self._protocol, ssl_context,
                                                     server_hostname=server_hostname)
            except BaseException:
                self._transport.close()
                raise
        if transport is None:
            raise httpcore2.ConnectError("the TLS handshake did not complete")
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info in ("ssl_object", "socket"):
            return self._extra[info]
        if info == "client_addr":
            return self._extra["sockname"]
        if info == "server_addr":
            return self._extra["peername"]
        if info == "is_readable":
            # What httpcore asks of every idle pooled connection, each time a request enters or leaves the
            # pool: readable means the server closed it (or sent something unasked), so it must not be
            # reused. The socket is read all along, so the buffer already knows: no system call per
            # connection (with a hundred idle ones, a hundred a request) as a poll of the socket would be.
            proto = self._protocol
            return bool(proto.chunks) or proto.eof or self._transport.is_closing()
        return None


class AsyncioBackend(AsyncNetworkBackend):
    """httpcore's network backend on the running asyncio loop (see the module's docstring)."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SOCKET_OPTION] | None = None) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        with _mapped(httpcore2.ConnectTimeout, httpcore2.ConnectError):
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(SocketProtocol, host, port, local_addr=local)
        return self._opened(transport, protocol, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SOCKET_OPTION] | None = None) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped(httpcore2.ConnectTimeout, httpcore2.ConnectError):
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(SocketProtocol, path)
        return self._opened(transport, protocol, socket_options)

    @staticmethod
    def _opened(transport: asyncio.Transport, protocol: SocketProtocol,
                socket_options: Iterable[SOCKET_OPTION] | None) -> AsyncioStream:
        sock: socket.socket | None = transport.get_extra_info("socket")
        if sock is not None:
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
            except OSError as exc:
                transport.close()
                raise httpcore2.ConnectError(str(exc)) from exc
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# The openai client's own defaults for its connection pool.
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)


class AsyncioTransport(httpx2.AsyncHTTPTransport):
    """httpx's own transport, its connection pool given `AsyncioBackend` (direct connections only)."""

    def __init__(self, limits: httpx2.Limits = LIMITS, **kwargs: Any) -> None:
        super().__init__(limits=limits, **kwargs)
        # httpx takes no backend argument; its pool reads this attribute each time it opens a connection
        # (tests/unit/test_netio.py checks that a connection goes through it)
        self._pool._network_backend = AsyncioBackend()

