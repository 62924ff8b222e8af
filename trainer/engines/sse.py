"""A chat completion's stream read as raw server-sent events, shared by the sync and async streams.

The request goes through the openai client's `post` with `cast_to` the HTTP response, which skips what
`chat.completions.create` adds on top: walking the whole body against the typed parameters (the message
history, every turn) and building a typed chunk object per event; together about half of what a
streamed reply cost the web server. Everything else is the client's own: base URL, key, headers,
timeout, and an HTTP error status raised as its `APIStatusError` (the web server's async stream goes one
step further and skips `post` too: see `aopen_stream`). The events are split from the raw
bytes here and parsed with `json.loads`, instead of being decoded to text and split into lines first.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai


def _post_args(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`chat.completions.create` keyword arguments as the body and request options of `client.post`."""
    body = dict(params)
    timeout = body.pop("timeout", None)
    return body, ({"timeout": timeout} if timeout is not None else {})


def open_stream(client: Any, params: dict[str, Any]) -> Any:
    """POST a streamed chat completion with the openai client; its unread HTTP response (close it after)."""
    body, options = _post_args(params)
    return client.post("/chat/completions", body=body, cast_to=httpx2.Response, stream=True, options=options)


def build_request(client: Any, params: dict[str, Any]) -> httpx2.Request:
    """The HTTP request `aopen_stream` sends for `params`, built from the client's settings as the openai
    client would build it: base URL (with any query), key, default headers, timeout."""
    body, options = _post_args(params)
    http: httpx2.AsyncClient = client._client  # the openai client's HTTP client (ours: trainer.engines.h1)
    base = client.base_url
    headers = {k: v for k, v in client.default_headers.items() if isinstance(v, str)} | client.auth_headers
    return http.build_request("POST", base.copy_with(path=base.path + "chat/completions"),
                              content=json.dumps(body).encode(), headers=headers,
                              timeout=options.get("timeout", client.timeout))


async def aopen_stream(client: Any, params: dict[str, Any], request: httpx2.Request | None = None) -> Any:
    """`open_stream` for the web server's async openai client, sent on that client's own HTTP client
    (`aclose()` the response after).

    The openai client's request path (options validated as a pydantic model, headers merged, the retry
    and auth wrappers around the send) cost about 1.2 M instructions a turn, 4 % of a streamed turn
    (bench/instructions.py). Here the request is built from the client's settings as it would build it:
    base URL (with any query), key, default headers, timeout; an HTTP error status is raised as the
    client's own `APIStatusError` subclass and a transport failure as its connection or timeout error.
    `request`: the one `build_request` made of `params` already (and perhaps sent: `H1Transport.send_now`).
    """
    http: httpx2.AsyncClient = client._client
    if request is None:
        request = build_request(client, params)
    try:
        response = await http.send(request, stream=True)
    except httpx2.TransportError as exc:
        raise client_error(exc, request) from exc
    if response.is_error:
        try:
            await response.aread()
        except httpx2.TransportError as exc:
            raise client_error(exc, request) from exc
        finally:
            await response.aclose()
        raise client._make_status_error_from_response(response)
    return response


def chunk(data: bytes, request: Any) -> Any:
    """One event's JSON; an error object sent in the stream is raised as the openai client's `APIError`."""
    parsed = json.loads(data)  # not JSON: a ValueError, sorted as "malformed"
    if isinstance(parsed, dict) and parsed.get("error"):
        error = parsed["error"]
        message = error.get("message") if isinstance(error, dict) else None
        raise openai.APIError(message if isinstance(message, str) and message else "an error in the stream",
                              request=request, body=error)
    return parsed


def client_error(exc: httpx2.TransportError, request: Any) -> openai.APIError:
    """A transport failure while reading, as the openai client would have raised it (timeout, connection)."""
    if isinstance(exc, httpx2.TimeoutException):
        return openai.APITimeoutError(request=request)
    return openai.APIConnectionError(request=request)


class SSEData:
    """Server-sent events read from raw bytes: `feed` a piece of the body, get the data of each event it ends.

    As the protocol says: lines end with LF, CRLF or CR; `data:` lines of one event are joined with LF
    (one space after the colon dropped); a blank line ends the event; comments and other fields are
    skipped. The chat stream's `[DONE]` ends it: later events are ignored. Bytes stay bytes (a line is
    only cut at a line end, so a character split between two pieces is whole again).
    """

    __slots__ = ("_data", "_rest", "done")

    def __init__(self) -> None:
        self._rest = b""
        self._data: list[bytes] = []
        self.done = False

    def feed(self, raw: bytes) -> list[bytes]:
        buf = self._rest + raw
        held = b""
        if b"\r" in buf:
            if buf.endswith(b"\r"):  # maybe the first half of a CRLF: decide with the next piece
                buf, held = buf[:-1], b"\r"
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._rest = lines.pop() + held
        out: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    data, self._data = b"\n".join(self._data), []
                    if data.startswith(b"[DONE]"):
                        self.done = True
                    elif not self.done:
                        out.append(data)
                continue
            name, _, value = line.partition(b":")
            if name == b"data" and not self.done:
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return out
