"""Fixtures of the unit tests that talk to servers on loopback (tests/unit/test_netio.py, test_h1.py) and to
the sentence encoder's child process (test_encoder_process.py, test_encoder_bulk_channel.py)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trainer.spin import embed
from trainer.spin.encoder_process import EncoderProcess

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
MakeTransport = Callable[..., Any]


@pytest.fixture
def child() -> Iterator[EncoderProcess]:
    """A running encoder's child process, closed after the test."""
    proc = EncoderProcess(embed.DIM, fallback=embed.in_process_encoder)
    proc.start()
    yield proc
    proc.close()


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    """Both event loops: the server runs on uvloop (whose transports are not asyncio's classes), tests
    and the command line on asyncio's own."""
    if request.param == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed to make the test's certificate (Debian package openssl)"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(params=["netio", "h1"])
def make_transport(request: pytest.FixtureRequest) -> MakeTransport:
    """Both of the model client's transports, for what they must do alike: httpx's own on the netio backend
    (`AsyncioTransport`, the fallback) and the httptools one (`H1Transport`, what the engine uses)."""
    if request.param == "h1":
        from trainer.engines.h1 import H1Transport

        return H1Transport
    from trainer.engines.netio import AsyncioTransport

    return AsyncioTransport
