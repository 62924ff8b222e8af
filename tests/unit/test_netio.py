"""The model client's asyncio sockets (trainer.engines.netio) against real servers on loopback.

Each test runs a small HTTP/1.1 server on 127.0.0.1 (plain asyncio) and talks to it through httpx with
`AsyncioTransport`, as the LLM engine does: bodies whole and streamed, timeouts, a refused connection,
a connection the server closed while it sat in the pool, a body larger than the read buffer's limit,
and TLS with a certificate made for the test.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpcore2
import httpx2
import pytest

from tests.unit.conftest import LoopFactory, MakeTransport
from tests.unit.test_llm_async import in_fresh_thread
from trainer.engines.netio import HIGH_WATER, AsyncioBackend, AsyncioTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return await reader.readexactly(length) if length else b""


def _response(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def _serve(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    return server, server.sockets[0].getsockname()[1]




def _run(loop_factory: LoopFactory, main: Callable[[], Awaitable[None]]) -> None:
    def in_loop() -> None:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main())  # type: ignore[arg-type]

    in_fresh_thread(in_loop)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers each request on the connection: `stream` as three chunks 20 ms apart, anything else echoed."""
    while True:
        try:
            body = await _read_request(reader)
        except asyncio.IncompleteReadError:
            break
        if body == b"stream":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for word in (b"one ", b"two ", b"three"):
                writer.write(f"{len(word):x}\r\n".encode() + word + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0.02)
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(_response(b"echo:" + body, "X-Seen: yes\r\n"))
        await writer.drain()
    writer.close()


def test_transport_uses_the_asyncio_backend_for_whole_and_streamed_bodies(loop_factory: LoopFactory) -> None:
    async def main() -> None:
        server, port = await _serve(echo)
        transport = AsyncioTransport()
        assert isinstance(transport._pool._network_backend, AsyncioBackend)  # type: ignore[union-attr]
        async with server, httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
            res = await client.post("/", content=b"hello")
            assert (res.status_code, res.content) == (200, b"echo:hello")
            async with client.stream("POST", "/", content=b"stream") as streamed:
                pieces = [piece async for piece in streamed.aiter_raw()]
            assert b"".join(pieces) == b"one two three"
            assert len(pieces) == 3  # each chunk as it came, not the body at the end
            res = await client.post("/", content=b"again")  # the same kept-alive connection
            assert res.content == b"echo:again"
            assert len(transport._pool.connections) == 1  # type: ignore[union-attr]

    _run(loop_factory, main)


def test_a_read_that_waits_too_long_is_a_read_timeout(loop_factory: LoopFactory, make_transport: MakeTransport) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await asyncio.sleep(5)
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=make_transport(), timeout=0.3) as client, \
                client.stream("GET", f"http://127.0.0.1:{port}/") as streamed:
            pieces = streamed.aiter_raw()
            assert await anext(pieces) == b"first"
            with pytest.raises(httpx2.ReadTimeout):
                await anext(pieces)

    _run(loop_factory, main)


def test_a_refused_connection_is_a_connect_error(loop_factory: LoopFactory,
                                                 make_transport: MakeTransport, tmp_path: Path) -> None:
    async def main() -> None:
        server, port = await _serve(lambda _r, w: _close(w))
        server.close()
        await server.wait_closed()
        async with httpx2.AsyncClient(transport=make_transport()) as client:
            with pytest.raises(httpx2.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")
        with pytest.raises(httpcore2.ConnectError):
            await AsyncioBackend().connect_unix_socket(str(tmp_path / "nobody-listens.sock"))

    _run(loop_factory, main)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",  # a body cut short: an error, not a shorter body
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n",  # a chunked body cut short
    b"",  # closed without an answer
    b"SPDY/9 what\r\n\r\n",  # not HTTP/1.1
])
def test_a_broken_response_is_a_protocol_error(loop_factory: LoopFactory, make_transport: MakeTransport,
                                               answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=make_transport()) as client:
            with pytest.raises(httpx2.RemoteProtocolError):
                await client.get(f"http://127.0.0.1:{port}/")

    _run(loop_factory, main)


def test_a_pooled_connection_the_server_closed_is_not_reused(loop_factory: LoopFactory,
                                                             make_transport: MakeTransport) -> None:
    opened = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        await _read_request(reader)
        writer.write(_response(b"bye"))  # keep-alive by HTTP/1.1's default, then closed all the same
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=make_transport()) as client:
            for _ in range(3):
                res = await client.get(f"http://127.0.0.1:{port}/")
                assert res.content == b"bye"
                await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
        assert opened == 3

    _run(loop_factory, main)


def test_a_body_larger_than_the_buffer_limit_arrives_whole(loop_factory: LoopFactory,
                                                           make_transport: MakeTransport) -> None:
    size = 3 * HIGH_WATER + 12345
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(payload))
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=make_transport()) as client:
            async with client.stream("GET", f"http://127.0.0.1:{port}/") as streamed:
                got = bytearray()
                async for piece in streamed.aiter_raw():
                    got += piece
                    await asyncio.sleep(0)  # a slow reader: the socket is paused and resumed meanwhile
            assert bytes(got) == payload

    _run(loop_factory, main)


def test_tls_to_a_server_whose_certificate_is_trusted(loop_factory: LoopFactory, make_transport: MakeTransport,
                                                     certificate: tuple[Path, Path]) -> None:
    cert, key = certificate

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(b"secret"))
        await writer.drain()
        writer.close()

    async def main() -> None:
        served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        served.load_cert_chain(cert, key)
        server, port = await _serve(handler, served)
        trusted = ssl.create_default_context(cafile=str(cert))
        async with server:
            async with httpx2.AsyncClient(transport=make_transport(verify=trusted)) as client:
                res = await client.get(f"https://127.0.0.1:{port}/")
                assert res.content == b"secret"
                if isinstance(client._transport, AsyncioTransport):
                    assert res.extensions["network_stream"].get_extra_info("ssl_object") is not None
            async with httpx2.AsyncClient(transport=make_transport()) as client:  # the system's CAs only
                with pytest.raises(httpx2.ConnectError):
                    await client.get(f"https://127.0.0.1:{port}/")

    _run(loop_factory, main)

