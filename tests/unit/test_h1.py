"""The model client's HTTP/1.1 transport on httptools (trainer.engines.h1) against real servers on loopback.

Each test runs a small HTTP/1.1 server on 127.0.0.1 (plain asyncio, on both event loops) and talks to it
through httpx with `H1Transport`, as the LLM engine does: bodies whole, chunked and ended by the close,
keep-alive and when a connection must not be reused, the four timeouts, broken and garbled responses,
an interim 100 response, a streamed request body, TLS, and what it hands to its fallback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import pytest

from tests.unit.conftest import LoopFactory
from tests.unit.test_netio import Handler, _read_request, _response, _run, _serve, echo
from trainer.engines.h1 import H1Transport, async_http_client
from trainer.engines.netio import AsyncioTransport


class Counted:
    """A handler that counts the connections it was given."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.opened = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        await self.handler(reader, writer)


def test_whole_and_streamed_bodies_on_one_kept_alive_connection(loop_factory: LoopFactory) -> None:
    served = Counted(echo)

    async def main() -> None:
        server, port = await _serve(served)
        async with server, httpx2.AsyncClient(transport=H1Transport(), base_url=f"http://127.0.0.1:{port}") as client:
            res = await client.post("/", content=b"hello")
            assert (res.status_code, res.content, res.headers["x-seen"]) == (200, b"echo:hello", "yes")
            assert (res.http_version, res.reason_phrase) == ("HTTP/1.1", "OK")
            async with client.stream("POST", "/", content=b"stream") as streamed:
                pieces = [piece async for piece in streamed.aiter_raw()]
            assert b"".join(pieces) == b"one two three"
            assert len(pieces) == 3  # each chunk as it came, not the body at the end
            res = await client.post("/?q=1", content=b"again")
            assert res.content == b"echo:again"
        assert served.opened == 1

    _run(loop_factory, main)


def test_a_streamed_request_body_goes_out_chunked(loop_factory: LoopFactory) -> None:
    got: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        got.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(_response(b"ok"))
        await writer.drain()
        writer.close()

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"first ", b"", b"second"):
            yield part

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=H1Transport()) as client:
            res = await client.post(f"http://127.0.0.1:{port}/", content=parts())
            assert res.content == b"ok"
        assert got == [b"6\r\nfirst \r\n6\r\nsecond\r\n0\r\n\r\n"]

    _run(loop_factory, main)


def test_a_body_ended_by_the_close_is_whole_and_its_connection_not_reused(loop_factory: LoopFactory) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of ")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"this")
        await writer.drain()
        writer.close()

    served = Counted(handler)

    async def main() -> None:
        server, port = await _serve(served)
        async with server, httpx2.AsyncClient(transport=H1Transport()) as client:
            for _ in range(2):
                res = await client.get(f"http://127.0.0.1:{port}/")
                assert res.content == b"all of this"
        assert served.opened == 2

    _run(loop_factory, main)


def test_an_interim_response_is_skipped_for_the_real_one(loop_factory: LoopFactory) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + _response(b"final", "X-Final: 1\r\n"))
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=H1Transport()) as client:
            res = await client.post(f"http://127.0.0.1:{port}/", content=b"x")
            assert (res.status_code, res.content, dict(res.headers)) == (
                200, b"final", {"content-length": "5", "x-final": "1"})

    _run(loop_factory, main)


def test_a_response_that_never_comes_is_a_read_timeout(loop_factory: LoopFactory) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        async with server, httpx2.AsyncClient(transport=H1Transport(), timeout=0.3) as client:
            with pytest.raises(httpx2.ReadTimeout):  # mid-body: tests/unit/test_netio.py, both transports
                await client.post(f"http://127.0.0.1:{port}/", content=b"no answer")
        server.close()

    _run(loop_factory, main)


def test_connections_the_server_closed_or_spoke_on_unasked_are_not_reused(loop_factory: LoopFactory) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = await _read_request(reader)
        writer.write(_response(b"bye"))  # keep-alive by HTTP/1.1's default, then closed or spoken on all the same
        await writer.drain()
        if body == b"chatty":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nodd")
            await writer.drain()
            await asyncio.sleep(1)
        writer.close()

    served = Counted(handler)

    async def main() -> None:
        server, port = await _serve(served)
        async with server, httpx2.AsyncClient(transport=H1Transport()) as client:
            for body in (b"", b"chatty", b""):
                res = await client.post(f"http://127.0.0.1:{port}/", content=body)
                assert res.content == b"bye"
                await asyncio.sleep(0.05)  # the close (or the unasked bytes) reach the idle connection
        assert served.opened == 3

    _run(loop_factory, main)


def test_idle_connections_expire_and_a_body_left_unread_closes_its_connection(loop_factory: LoopFactory) -> None:
    served = Counted(echo)

    async def main() -> None:
        server, port = await _serve(served)
        limits = httpx2.Limits(max_connections=10, max_keepalive_connections=5, keepalive_expiry=0.1)
        async with server, httpx2.AsyncClient(transport=H1Transport(limits=limits)) as client:
            await client.post(f"http://127.0.0.1:{port}/", content=b"a")
            await asyncio.sleep(0.2)
            await client.post(f"http://127.0.0.1:{port}/", content=b"b")  # the first expired: a second connection
            async with client.stream("POST", f"http://127.0.0.1:{port}/", content=b"stream") as streamed:
                assert await anext(streamed.aiter_raw()) == b"one "
            res = await client.post(f"http://127.0.0.1:{port}/", content=b"c")  # the half-read one is not reused
            assert res.content == b"echo:c"
        assert served.opened == 3

    _run(loop_factory, main)


def test_a_request_that_asked_to_close_does_not_leave_its_connection_pooled(loop_factory: LoopFactory) -> None:
    served = Counted(echo)  # keeps every connection open whatever the request said

    async def main() -> None:
        server, port = await _serve(served)
        async with server, httpx2.AsyncClient(transport=H1Transport()) as client:
            await client.post(f"http://127.0.0.1:{port}/", content=b"a", headers={"Connection": "close"})
            await client.post(f"http://127.0.0.1:{port}/", content=b"b")
            await client.post(f"http://127.0.0.1:{port}/", content=b"c")
        assert served.opened == 2

    _run(loop_factory, main)


def test_no_more_connections_than_the_limit_and_a_pool_timeout(loop_factory: LoopFactory) -> None:
    async def main() -> None:
        server, port = await _serve(echo)
        limits = httpx2.Limits(max_connections=1)
        url = f"http://127.0.0.1:{port}/"
        async with server, httpx2.AsyncClient(transport=H1Transport(limits=limits),
                                              timeout=httpx2.Timeout(5, pool=0.2)) as client:
            async with client.stream("POST", url, content=b"stream") as streamed:
                with pytest.raises(httpx2.PoolTimeout):
                    await client.post(url, content=b"waits")
                assert b"".join([piece async for piece in streamed.aiter_raw()]) == b"one two three"
            assert (await client.post(url, content=b"now")).content == b"echo:now"

    _run(loop_factory, main)


def test_head_requests_go_to_the_fallback(loop_factory: LoopFactory) -> None:
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.method)
        return httpx2.Response(200, headers={"Content-Length": "42"})

    async def main() -> None:
        async with httpx2.AsyncClient(transport=H1Transport(fallback=httpx2.MockTransport(answer))) as client:
            res = await client.head("http://127.0.0.1:9/")
            assert (res.status_code, res.content) == (200, b"")
        assert seen == ["HEAD"]

    _run(loop_factory, main)


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def test_the_engines_http_client_keeps_the_openai_defaults(loop_factory: LoopFactory,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    async def main() -> None:
        async with async_http_client() as client:
            assert client.follow_redirects is True
            assert client.timeout.connect == 5.0
            assert isinstance(client._transport, H1Transport)

    _run(loop_factory, main)


def test_a_head_request_goes_to_the_netio_transport_made_when_first_needed(loop_factory: LoopFactory) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n")  # a HEAD's answer: the length, no body
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        transport = H1Transport()
        assert transport._fallback is None
        async with server, httpx2.AsyncClient(transport=transport) as client:
            res = await client.head(f"http://127.0.0.1:{port}/")
            assert (res.status_code, res.headers["content-length"], res.content) == (200, "42", b"")
            assert isinstance(transport._fallback, AsyncioTransport)

    _run(loop_factory, main)


def test_behind_a_proxy_the_engines_client_keeps_httpxs_transports(loop_factory: LoopFactory,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")

    async def main() -> None:
        async with async_http_client() as client:
            assert not isinstance(client._transport, H1Transport)
            mounted = {str(pattern.pattern): transport for pattern, transport in client._mounts.items()}
            assert mounted.get("https://") is not None, "the proxy from the environment is in use"

    _run(loop_factory, main)
