"""The LLM confirm/override path against a fake OpenAI-compatible server on loopback (no real API)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest

from trainer.spin.classifier import classify
from trainer.spin.labels import Label
from trainer.spin.llm import LLMClassifier, cache_key, parse_answer, response_schema, system_prompt, user_prompt
from trainer.spin.types import ContextTurn


@dataclass
class FakeState:
    """What the fake server answers next, and every request body it received."""

    mode: str = "ok"  # ok | error | garbage | off_taxonomy | slow
    answer: dict[str, Any] = field(default_factory=lambda: {"label": "problem", "confidence": 0.9,
                                                            "reason": "asks what gets in the way"})
    bodies: list[dict[str, Any]] = field(default_factory=list)


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.bodies.append(body)
            if state.mode == "error":
                self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                return
            if state.mode == "slow":
                time.sleep(1.5)
            content = {"garbage": "not json {", "off_taxonomy": json.dumps(
                {"label": "small_talk", "confidence": 0.8, "reason": "x"})}.get(state.mode, json.dumps(state.answer))
            self._send(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (timeout test)

    return Handler


@pytest.fixture
def fake() -> Iterator[tuple[FakeState, openai.OpenAI]]:
    state = FakeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = openai.OpenAI(api_key="test-key", base_url=f"http://127.0.0.1:{server.server_port}/v1",
                           max_retries=0)
    try:
        yield state, client
    finally:
        server.shutdown()
        server.server_close()


TEXT = "What tends to slow the month-end close down?"


def test_confident_offline_label_makes_no_request(fake: tuple[FakeState, openai.OpenAI]) -> None:
    state, client = fake
    llm = LLMClassifier(client, "fake-model", threshold=0.0)
    result = llm.classify("Could you put me through to Mr Jones?", (), "en")
    assert result == classify("Could you put me through to Mr Jones?", (), "en")
    assert state.bodies == [] and llm.requests == 0


def test_low_confidence_label_is_overridden_with_schema_request(fake: tuple[FakeState, openai.OpenAI]) -> None:
    state, client = fake
    state.answer = {"label": "implication", "confidence": 0.83, "reason": "asks about the cost of the delay"}
    llm = LLMClassifier(client, "fake-model", threshold=1.01)
    offline = classify(TEXT, (), "en")
    result = llm.classify(TEXT, (), "en")
    assert result.label is Label.IMPLICATION and result.confidence == pytest.approx(0.83)
    assert "asks about the cost of the delay" in result.reason and offline.label.value in result.reason
    assert result.segments == offline.segments
    body = state.bodies[0]
    assert body["model"] == "fake-model" and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == response_schema()
    system = body["messages"][0]["content"]
    assert "need_payoff" in system and "How many shipments arrive damaged?" in system  # taxonomy examples
    assert TEXT in body["messages"][1]["content"]


def test_agreement_confirms_and_keeps_offline_reason(fake: tuple[FakeState, openai.OpenAI]) -> None:
    state, client = fake
    offline = classify("Сколько у вас грузовиков?", (), "ru")
    state.answer = {"label": offline.label.value, "confidence": 0.99, "reason": "факты"}
    result = LLMClassifier(client, "m", threshold=1.01).classify("Сколько у вас грузовиков?", (), "ru")
    assert result.label is offline.label and result.confidence == pytest.approx(max(0.99, offline.confidence))
    assert result.reason.startswith(offline.reason) and "подтверждено LLM" in result.reason


def test_answers_are_cached_by_text_and_context(fake: tuple[FakeState, openai.OpenAI]) -> None:
    state, client = fake
    llm = LLMClassifier(client, "m", threshold=1.01)
    ctx = (ContextTurn("client", "Closing the month is always a scramble."),)
    first = llm.classify(TEXT, ctx, "en")
    again = llm.classify(TEXT, ctx, "en")
    assert replace(again, check=None) == replace(first, check=None)
    assert llm.requests == 1 and len(state.bodies) == 1
    # The turn keeps which model call set its label; a cached answer names the call it came from.
    assert first.check is not None and again.check is not None
    assert (first.check.model, first.check.cached, first.check.completion_id) == ("m", False, "chatcmpl-fake")
    assert first.check.latency_ms is not None and first.check.latency_ms > 0
    assert (again.check.cached, again.check.completion_id, again.check.latency_ms) == (True, "chatcmpl-fake", None)
    assert first.to_dict()["check"]["offline_label"] == classify(TEXT, ctx, "en").label.value
    assert "Closing the month is always a scramble." in state.bodies[0]["messages"][1]["content"]
    llm.classify(TEXT, (), "en")  # other context -> other key -> a second request
    assert llm.requests == 2


def test_cache_is_bounded(fake: tuple[FakeState, openai.OpenAI]) -> None:
    _, client = fake
    llm = LLMClassifier(client, "m", threshold=1.01, cache_size=2)
    for text in ("How old are the trucks?", "Who services the trucks?", "Where are the depots?"):
        llm.classify(text, (), "en")
    llm.classify("How old are the trucks?", (), "en")  # evicted, so asked again
    assert llm.requests == 4


@pytest.mark.parametrize("mode", ["error", "garbage", "off_taxonomy"])
def test_failures_fall_back_to_the_offline_label(fake: tuple[FakeState, openai.OpenAI], mode: str) -> None:
    state, client = fake
    state.mode = mode
    llm = LLMClassifier(client, "m", threshold=1.01)
    assert llm.classify(TEXT, (), "en") == classify(TEXT, (), "en")
    assert llm.requests == 1
    state.mode = "ok"
    llm.classify(TEXT, (), "en")
    assert llm.requests == 2  # failures are not cached


def test_timeout_falls_back_quickly(fake: tuple[FakeState, openai.OpenAI]) -> None:
    state, client = fake
    state.mode = "slow"
    llm = LLMClassifier(client, "m", threshold=1.01, timeout=0.3)
    start = time.monotonic()
    assert llm.classify(TEXT, (), "en") == classify(TEXT, (), "en")
    assert time.monotonic() - start < 1.4


def test_unreachable_server_falls_back() -> None:
    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    llm = LLMClassifier(client, "m", threshold=1.01, timeout=1.0)
    text = "Как часто ломаются погрузчики?"
    assert llm.classify(text, (), "ru") == classify(text, (), "ru")


def test_blank_text_never_reaches_the_llm(fake: tuple[FakeState, openai.OpenAI]) -> None:
    state, client = fake
    result = LLMClassifier(client, "m", threshold=1.01).classify("   ", (), "en")
    assert result.label is Label.OTHER and state.bodies == []


def test_cache_key_is_pure_and_sensitive() -> None:
    ctx = (ContextTurn("client", "Да, бывают сбои."),)
    key = cache_key("Во что это обходится?", ctx, "ru", "m")
    assert key == cache_key("Во что это обходится?", ctx, "ru", "m")
    assert len({key, cache_key("Во что это обходится?", (), "ru", "m"),
                cache_key("Во что это обходится?", ctx, "ru", "m2"),
                cache_key("Во что это обходится", ctx, "ru", "m")}) == 4


def test_parse_answer_validates_the_schema() -> None:
    assert parse_answer('{"label": "need_payoff", "confidence": 1.4, "reason": " ok "}') == (
        Label.NEED_PAYOFF, 1.0, "ok")
    for bad in ("", "[]", '{"label": "need_payoff", "confidence": "high", "reason": "x"}',
                '{"label": "nope", "confidence": 0.5, "reason": "x"}', '{"label": "pitch", "confidence": true,'
                                                                        ' "reason": "x"}'):
        with pytest.raises(ValueError):
            parse_answer(bad)


def test_prompts_use_the_turn_language_and_recent_context() -> None:
    assert "Сколько отправок приходит с повреждениями?" in system_prompt("ru")
    assert "How many shipments arrive damaged?" in system_prompt("en")
    turns = tuple(ContextTurn("client", f"turn {i}") for i in range(10))
    prompt = user_prompt("Что это значит для сроков?", turns)
    assert "turn 9" in prompt and "turn 3" not in prompt and "Что это значит для сроков?" in prompt
