"""A request written at once on an idle pooled connection (`H1Transport.send_now`), against real servers
on loopback: it reaches the server before anything is awaited, its response goes to the send of the same
request, it needs an idle connection (else nothing is done), and one nobody reads is dropped with its
connection, so the server sees the close and the pool's place is free again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2

from tests.unit.conftest import LoopFactory
from tests.unit.test_h1 import Counted
from tests.unit.test_netio import _read_request, _response, _run, _serve, echo
from trainer.engines.h1 import H1Transport


class Recorded:
    """Answers each request with `echo:<body>` and records, per connection, the bodies and how it ended."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.arrived = asyncio.Event()
        self.closed_by_client = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                self.closed_by_client += 1
                break
            self.bodies.append(body)
            self.arrived.set()
            writer.write(_response(b"echo:" + body))
            await writer.drain()
        writer.close()


def test_a_request_sent_now_is_on_the_wire_before_anything_is_awaited(loop_factory: LoopFactory) -> None:
    served = Recorded()
    counted = Counted(served)

    async def main() -> None:
        server, port = await _serve(counted)
        transport = H1Transport()
        async with server, httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.post("/", content=b"warm")).content == b"echo:warm"  # one idle connection
            request = client.build_request("POST", "/", content=b"early")
            assert transport.send_now(request) is True
            await asyncio.wait_for(served.arrived.wait(), 5)  # only the server's loop ran, not a send
            served.arrived.clear()
            assert served.bodies == [b"warm", b"early"]
            response = await client.send(request)
            assert response.content == b"echo:early"
            assert (await client.post("/", content=b"after")).content == b"echo:after"
        assert counted.opened == 1  # the same kept-alive connection throughout
        assert served.bodies == [b"warm", b"early", b"after"]

    _run(loop_factory, main)


def test_without_an_idle_connection_or_with_a_streamed_body_nothing_is_sent(loop_factory: LoopFactory) -> None:
    served = Recorded()

    async def body() -> AsyncIterator[bytes]:
        yield b"streamed"

    async def main() -> None:
        server, port = await _serve(served)
        transport = H1Transport()
        async with server, httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
            first = client.build_request("POST", "/", content=b"cold")
            assert transport.send_now(first) is False  # no connection yet: the send makes one
            assert (await client.send(first)).content == b"echo:cold"
            streamed = client.build_request("POST", "/", content=body())
            assert transport.send_now(streamed) is False
            head = client.build_request("HEAD", "/")
            assert transport.send_now(head) is False
        assert served.bodies == [b"cold"]

    _run(loop_factory, main)


def test_a_request_sent_now_and_forgotten_closes_its_connection_and_frees_its_place(
        loop_factory: LoopFactory) -> None:
    served = Recorded()

    async def main() -> None:
        server, port = await _serve(served)
        transport = H1Transport(limits=httpx2.Limits(max_connections=1))
        async with server, httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}",
                                              timeout=httpx2.Timeout(5, pool=0.5)) as client:
            await client.post("/", content=b"warm")
            unwanted = client.build_request("POST", "/", content=b"unwanted")
            assert transport.send_now(unwanted)
            transport.forget(unwanted)
            transport.forget(unwanted)  # twice is harmless
            for _ in range(100):  # the server reads the request, then meets the close
                if served.closed_by_client:
                    break
                await asyncio.sleep(0.01)
            assert served.closed_by_client == 1
            # its place in the pool (one connection at most) is free: no pool timeout
            assert (await client.post("/", content=b"next")).content == b"echo:next"
        assert served.bodies[:2] == [b"warm", b"unwanted"]

    _run(loop_factory, main)


def test_closing_the_transport_closes_a_request_sent_now_that_nobody_read(loop_factory: LoopFactory) -> None:
    served = Recorded()

    async def main() -> None:
        server, port = await _serve(served)
        transport = H1Transport()
        async with server:
            async with httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
                await client.post("/", content=b"warm")
                assert transport.send_now(client.build_request("POST", "/", content=b"left"))
            for _ in range(100):
                if served.closed_by_client:
                    break
                await asyncio.sleep(0.01)
            assert served.closed_by_client == 1

    _run(loop_factory, main)


def test_echo_server_still_answers_a_request_sent_now(loop_factory: LoopFactory) -> None:
    """The shared echo handler (chunked `stream` replies) read through a request sent ahead."""

    async def main() -> None:
        server, port = await _serve(echo)
        transport = H1Transport()
        async with server, httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}") as client:
            await client.post("/", content=b"warm")
            request = client.build_request("POST", "/", content=b"stream")
            assert transport.send_now(request)
            response = await client.send(request, stream=True)
            assert b"".join([piece async for piece in response.aiter_raw()]) == b"one two three"
            await response.aclose()

    _run(loop_factory, main)
