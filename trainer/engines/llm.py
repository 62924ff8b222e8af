"""The LLM engine: an OpenAI-compatible chat model voices the director's decision.

The director has already decided what the client does, and the scripted engine
has put it into plain words; the model only says that line in the persona's
voice. The system prompt holds nothing the director has not released, and
trainee text goes in as user messages, never into the instructions. Any
failure of the model (after a few bounded retries) falls back to the scripted
line with a visible notice in the call's language, so a turn is never lost.

Streaming: `stream_reply(request)` returns a `StreamedReply`; iterate it for
text pieces, then read `.reply` (a `VoiceReply` with model and tokens, or the
scripted fallback with a notice) and `.replaced` (True when pieces already
shown must be replaced by `.reply.text`, because the model broke off mid-reply).
`astream_reply(request)` is the same on the event loop (`AsyncStreamedReply`, in
llm_async), for the web server; the sync stream serves the command line.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from trainer.config import Settings
from trainer.engines import sse
from trainer.engines.base import VoiceReply, VoiceRequest
from trainer.engines.faults import Failure, RetryPolicy, StreamBroken, classify, notice
from trainer.engines.scripted import ScriptedEngine
from trainer.personas.state import owned_by, qualified

if TYPE_CHECKING:
    from trainer.engines.llm_async import AsyncStreamedReply

PROMPTS = Path(__file__).resolve().parent / "prompts"
HISTORY_TURNS = 6  # previous turns the model sees
LANGUAGE = {"en": "English", "ru": "Russian"}
RING = {"en": "(The phone rings.)", "ru": "(Звонит телефон.)"}
PUT_THROUGH = {"en": "(The call is put through to you.)", "ru": "(Звонок переводят на вас.)"}
WAITING = {"en": "(The caller waits for your answer.)", "ru": "(Собеседник ждёт ответа.)"}
_WORDS = re.compile(r"\S+\s*|\s+")


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(PROMPTS)), undefined=StrictUndefined, autoescape=False,
                       keep_trailing_newline=False)


# --- the prompt ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Released:
    """The speaker's own texts the director has let out so far, in the call's language."""

    facts: tuple[str, ...]
    pains: tuple[str, ...]  # admissions, each followed by the consequences voiced for it
    needs: tuple[str, ...]


def released(request: VoiceRequest) -> Released:
    """Look up the released facts, admitted and developed pains and explicit needs of the speaker."""
    p, lang, s = request.persona, request.lang, request.state
    facts = [text for fid in owned_by(s.released_facts, p.id)
             if (fact := p.fact(fid)) is not None and (text := fact.text.get(lang))]
    pains: list[str] = []
    for pid in dict.fromkeys(owned_by(s.admitted_pains, p.id) + owned_by(s.developed_pains, p.id)):
        pain = p.pain(pid)
        if pain is None:
            continue
        if admission := pain.admission.get(lang):
            pains.append(admission)
        options = pain.implications.get(lang, [])
        heard = s.implications_heard.get(qualified(p.id, pid), 0)
        pains.extend(options[:min(heard, len(options))])
    needs = [text for pid in owned_by(s.explicit_needs, p.id)
             if (pain := p.pain(pid)) is not None and (text := pain.need.get(lang))]
    return Released(tuple(facts), tuple(pains), tuple(needs))


def system_prompt(request: VoiceRequest, line: str) -> str:
    """The client's instructions for this turn: persona, what was released, the decision and its line."""
    p, lang, d = request.persona, request.lang, request.decision
    known = released(request)
    return _templates().get_template("client.j2").render(
        name=p.name_for(lang), role=p.role.replace("_", " "), company=p.company.get(lang, ""),
        product=p.product.get(lang, ""), language=LANGUAGE.get(lang, "English"), act=d.act, line=line,
        transferred_in=d.act == "transfer" and d.ref == p.id, ends_call=d.ends_call,
        facts=known.facts, pains=known.pains, needs=known.needs,
    ).strip()


def messages(request: VoiceRequest, line: str) -> list[dict[str, str]]:
    """System prompt, then the recent turns: trainee as user, client as assistant, strictly alternating."""
    lang = request.lang
    history = [t for t in request.history if t.text.strip()]
    recent = history[-HISTORY_TURNS:]
    turns: list[dict[str, str]] = []
    for turn in recent:
        role = "user" if turn.role == "trainee" else "assistant"
        if turns and turns[-1]["role"] == role:
            turns[-1] = {"role": role, "content": f"{turns[-1]['content']}\n{turn.text}"}
        else:
            turns.append({"role": role, "content": turn.text})
    if turns and turns[0]["role"] == "assistant":
        if len(history) > len(recent):
            turns.pop(0)  # cut mid-call: start at a trainee turn
        else:
            turns.insert(0, {"role": "user", "content": RING.get(lang, RING["en"])})
    if not turns or turns[-1]["role"] != "user":
        d = request.decision
        cue = (RING if not turns else PUT_THROUGH if d.act == "transfer" and d.ref == request.persona.id
               else WAITING)
        turns.append({"role": "user", "content": cue.get(lang, cue["en"])})
    return [{"role": "system", "content": system_prompt(request, line)}, *turns]


# --- reading replies ---------------------------------------------------------------------------

class _Chunks:
    """Collects a streamed reply: text pieces without leading or trailing blanks, model, usage, finish."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.finish: str | None = None
        self.parts: list[str] = []
        self._blank = ""  # whitespace held back until more text follows

    def add_data(self, data: Any) -> str:
        """Take one chunk's JSON (see `sse`); return the text to show now (may be empty)."""
        if not isinstance(data, dict):
            raise StreamBroken("malformed", "a chunk that is not a JSON object")
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        choices = data.get("choices")
        first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = first.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        model, tokens_in, tokens_out = data.get("model"), usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(model, str) and model:
            self.model = model
        self.tokens_in = tokens_in if isinstance(tokens_in, int) else self.tokens_in
        self.tokens_out = tokens_out if isinstance(tokens_out, int) else self.tokens_out
        if not isinstance(choices, list):
            raise StreamBroken("malformed", "a chunk without a list of choices")
        if not choices:
            return ""  # the usage-only last chunk
        if content is not None and not isinstance(content, str):
            raise StreamBroken("malformed", "a chunk whose content is not text")
        if finish := first.get("finish_reason"):
            self.finish = str(finish)
        return self._piece(content or "")

    def _piece(self, text: str) -> str:
        if not self.parts:
            text = text.lstrip()
        body = text.rstrip()
        if not body:
            if self.parts:
                self._blank += text
            return ""
        piece = self._blank + body
        self._blank = text[len(body):]
        self.parts.append(piece)
        return piece

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _completion(res: Any) -> tuple[str, str | None, int | None, int | None]:
    """Text, model and token counts of a non-streamed completion; a wrong shape raises."""
    content = res.choices[0].message.content
    if content is not None and not isinstance(content, str):
        raise StreamBroken("malformed", "a reply whose content is not text")
    usage = getattr(res, "usage", None)
    tokens_in = getattr(usage, "prompt_tokens", None)
    tokens_out = getattr(usage, "completion_tokens", None)
    model = getattr(res, "model", None)
    return ((content or "").strip(), model if isinstance(model, str) and model else None,
            tokens_in if isinstance(tokens_in, int) else None, tokens_out if isinstance(tokens_out, int) else None)


def _sse_json(response: Any) -> Iterator[Any]:
    """The JSON of each event of a chat completion stream, up to `[DONE]`; the body is read to its end."""
    events = sse.SSEData()
    try:
        for raw in response.iter_raw():
            for data in events.feed(raw):
                yield sse.chunk(data, response.request)
    except httpx2.TransportError as exc:
        raise sse.client_error(exc, response.request) from exc


def _close(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # closing a broken stream may fail again; the turn goes on regardless
            return


# --- the engine ----------------------------------------------------------------------------------

class LLMEngine:
    """Voices decisions through any OpenAI-compatible chat server, with the scripted line as a net."""

    name = "llm"

    def __init__(self, client: Any, model: str, fallback: ScriptedEngine | None = None, *,
                 policy: RetryPolicy | None = None, timeout_s: float | None = None, temperature: float = 0.7,
                 max_tokens: int = 160, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, async_client: Any = None,
                 asleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.client = client
        # The web server streams through an `openai.AsyncOpenAI`; made on first use, inside the server's loop.
        self._async_client = async_client
        self._async_loop: asyncio.AbstractEventLoop | None = None  # the loop `_async_client` was made in
        self.asleep = asleep
        self.model = model
        self.fallback = fallback or ScriptedEngine()
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.sleep = sleep
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMEngine:
        """An engine on `settings.openai_base_url` (or OpenAI itself) with short, configurable timeouts.

        The openai client's own retries are off: the engine retries itself, within its deadline.
        """
        import openai

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        timeout = settings.llm_timeout_s
        client = openai.OpenAI(api_key=key, base_url=settings.openai_base_url, max_retries=0,
                               timeout=openai.Timeout(timeout, connect=min(timeout, 5.0)))
        return cls(client, settings.llm_model, policy=RetryPolicy.for_timeout(timeout), timeout_s=timeout)

    def messages(self, request: VoiceRequest, scripted: str) -> list[dict[str, str]]:
        return messages(request, scripted)

    def params(self, request: VoiceRequest, line: str, *, stream: bool) -> dict[str, Any]:
        """The keyword arguments of `chat.completions.create` for this turn."""
        out: dict[str, Any] = {"model": self.model, "messages": messages(request, line),
                               "temperature": self.temperature, "max_tokens": self.max_tokens}
        if stream:
            out["stream"] = True
            out["stream_options"] = {"include_usage": True}
        if self.timeout_s is not None:
            out["timeout"] = self.timeout_s
        return out

    def fallback_reply(self, line: str, request: VoiceRequest, failure: Failure) -> VoiceReply:
        return VoiceReply(text=line, engine=self.fallback.name, model=None, notice=notice(failure.kind, request.lang))

    def voice(self, request: VoiceRequest) -> VoiceReply:
        """One non-streamed completion, retried within the policy; the scripted line if all tries fail."""
        line = self.fallback.compose(request)
        started = self.clock()
        tries = 0
        while True:
            tries += 1
            try:
                res = self.client.chat.completions.create(**self.params(request, line, stream=False))
                text, model, tokens_in, tokens_out = _completion(res)
                if not text:
                    raise StreamBroken("empty", "the reply has no text")
                return VoiceReply(text=text, engine=self.name, model=model or self.model, tokens_in=tokens_in,
                                  tokens_out=tokens_out)
            except Exception as exc:
                failure = classify(exc)
                pause = self.policy.next_wait(tries, failure, self.clock() - started)
                if pause is None:
                    return self.fallback_reply(line, request, failure)
                self.sleep(pause)

    def stream_reply(self, request: VoiceRequest) -> StreamedReply:
        """A streamed reply: iterate it for pieces, then read `.reply` (see `StreamedReply`)."""
        return StreamedReply(self, request)

    def stream(self, request: VoiceRequest) -> Iterator[str]:
        """The pieces of `stream_reply(request)`; use `stream_reply` to learn the model, tokens and notice."""
        return iter(self.stream_reply(request))

    def astream_reply(self, request: VoiceRequest) -> AsyncStreamedReply:
        """`stream_reply` on the event loop: no worker thread is held while the model speaks.

        Call it inside the loop that will iterate the reply: the async client is made there.
        """
        from trainer.engines.llm_async import AsyncStreamedReply

        return AsyncStreamedReply(self, self.async_client(), request)

    def async_client(self) -> Any:
        """The async twin of `client` (same server, key and timeout, no retries of its own), one per loop."""
        loop = asyncio.get_running_loop()  # outside a loop this raises: the client must belong to one
        if self._async_client is None or self._async_loop not in (None, loop):
            import openai

            from trainer.engines.h1 import async_http_client

            c = self.client
            self._async_client = openai.AsyncOpenAI(api_key=c.api_key, base_url=c.base_url, timeout=c.timeout,
                                                    max_retries=0, http_client=async_http_client())
            self._async_loop = loop
        return self._async_client

    async def aclose(self) -> None:
        """Close the async client's connections (at server shutdown); a later stream makes a new one."""
        client, self._async_client, self._async_loop = self._async_client, None, None
        if client is not None:
            await client.close()


class _Reply:
    """What a streamed reply records, and its steps that do no I/O: shared by the sync and async streams."""

    def __init__(self, engine: LLMEngine, request: VoiceRequest) -> None:
        self._engine = engine
        self._request = request
        self._reply: VoiceReply | None = None
        self.replaced = False
        self.failure: Failure | None = None  # the last failure that made the scripted line stand in
        self.attempts = 0
        self.first_piece_ms: float | None = None  # from the start of the turn to the first piece shown
        self.total_ms: float | None = None
        self._started = engine.clock()

    @property
    def done(self) -> bool:
        return self._reply is not None

    def _elapsed_ms(self) -> float:
        return (self._engine.clock() - self._started) * 1000

    def _done(self, reply: VoiceReply) -> None:
        self._reply = reply
        self.total_ms = self._elapsed_ms()

    def _give_up(self, failure: Failure, line: str, *, given: bool) -> None:
        self.failure = failure
        self.replaced = given
        self._done(self._engine.fallback_reply(line, self._request, failure))

    def _never_started(self) -> None:
        """The stream was closed before its first try: the scripted line with a notice is the reply."""
        if self._reply is None:
            self._give_up(Failure("closed", "closed before the first try"), self._engine.fallback.compose(
                self._request), given=False)

    def _shown(self, piece: str) -> str:
        """A chunk's text to show now (may be empty); the first one's time is recorded."""
        if piece and self.first_piece_ms is None:
            self.first_piece_ms = self._elapsed_ms()
        return piece

    def _check_deadline(self) -> None:
        if self._engine.clock() - self._started > self._engine.policy.deadline_s:
            raise StreamBroken("deadline", "the reply took longer than the turn's deadline")

    def _complete(self, chunks: _Chunks) -> None:
        """The stream ended: keep the model's reply, or raise why it cannot stand."""
        if chunks.finish is None:
            raise StreamBroken("cut", "the stream ended without a finish reason")
        if not chunks.text:
            raise StreamBroken("empty", "the reply has no text")
        eng = self._engine
        self._done(VoiceReply(text=chunks.text, engine=eng.name, model=chunks.model or eng.model,
                              tokens_in=chunks.tokens_in, tokens_out=chunks.tokens_out))

    def _after_failure(self, exc: Exception, line: str, *, given: bool) -> float | None:
        """The wait before another try, or None when the scripted line has taken over (after pieces: no retry)."""
        failure = classify(exc)
        if given and failure.kind == "connection":
            failure = Failure("cut", failure.detail)
        elapsed = self._engine.clock() - self._started
        pause = None if given else self._engine.policy.next_wait(self.attempts, failure, elapsed)
        if pause is None:
            self._give_up(failure, line, given=given)
        return pause

    def _stopped(self, line: str, *, given: bool) -> None:
        if self._reply is None:  # the consumer stopped the stream early
            self._give_up(Failure("closed", "the consumer closed the stream"), line, given=given)


class StreamedReply(_Reply):
    """One streamed client line, single use.

    Iterating yields text pieces as they arrive (retries happen before the first
    piece; when every try failed the scripted line is yielded in pieces instead).
    After the iteration ends, `reply` is the `VoiceReply` to store: engine "llm"
    with model and token counts (None when the server sent no usage), or the
    scripted line with `notice` set. `replaced` is True when the model broke off
    after some pieces were shown: the shown text must be replaced by `reply.text`.
    Reading `reply` early drains the rest of the stream; `close()` stops it, and the
    scripted line with a notice becomes the reply.
    """

    def __init__(self, engine: LLMEngine, request: VoiceRequest) -> None:
        super().__init__(engine, request)
        self._pieces = self._run()

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    @property
    def reply(self) -> VoiceReply:
        if self._reply is None:
            for _ in self._pieces:
                pass
        self._never_started()  # the generator was closed before it began
        assert self._reply is not None
        return self._reply

    def close(self) -> None:
        self._pieces.close()

    def _run(self) -> Generator[str, None, None]:
        eng, request = self._engine, self._request
        line = eng.fallback.compose(request)
        given = False
        try:
            while True:
                self.attempts += 1
                chunks = _Chunks()
                try:
                    response = sse.open_stream(eng.client, eng.params(request, line, stream=True))
                    try:
                        for data in _sse_json(response):
                            if piece := self._shown(chunks.add_data(data)):
                                given = True
                                yield piece
                            self._check_deadline()
                    finally:
                        _close(response)
                    self._complete(chunks)
                    return
                except Exception as exc:
                    pause = self._after_failure(exc, line, given=given)
                    if pause is None:
                        if not given:
                            yield from _WORDS.findall(line)
                        return
                    eng.sleep(pause)
        finally:
            self._stopped(line, given=given)
