"""The LLM engine: an OpenAI-compatible chat model voices the director's decision.

The director has already decided what the client does, and the scripted engine
has put it into plain words; the model only rephrases that line in the persona's
voice. The prompt holds nothing the director has not released, and trainee text
goes in as a user message, never into the instructions. Any failure of the model
falls back to the scripted line with a visible notice, so a turn is never lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from trainer.config import Settings
from trainer.engines.base import VoiceReply, VoiceRequest
from trainer.engines.scripted import ScriptedEngine

PROMPTS = Path(__file__).resolve().parent / "prompts"
HISTORY_TURNS = 6
NOTICE = {"en": "The AI client did not answer in time; a scripted reply was used.",
          "ru": "ИИ-клиент не ответил вовремя; использован заготовленный ответ."}


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(PROMPTS)), undefined=StrictUndefined, autoescape=False,
                       keep_trailing_newline=False)


class LLMEngine:
    name = "llm"

    def __init__(self, client: Any, model: str, fallback: ScriptedEngine | None = None) -> None:
        self.client = client
        self.model = model
        self.fallback = fallback or ScriptedEngine()

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMEngine:
        from openai import OpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        client = OpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout_s,
                        max_retries=2)
        return cls(client, settings.llm_model)

    def messages(self, request: VoiceRequest, scripted: str) -> list[dict[str, str]]:
        p = request.persona
        lang = request.lang
        system = _templates().get_template("client.j2").render(
            name=p.name_for(lang), role=p.role.replace("_", " "), company=p.company.get(lang, ""),
            product=p.product.get(lang, ""), lang=lang, scripted=scripted, ends_call=request.decision.ends_call,
        )
        out = [{"role": "system", "content": system}]
        for turn in list(request.history)[-HISTORY_TURNS:]:
            out.append({"role": "user" if turn.role == "trainee" else "assistant", "content": turn.text})
        return out

    def voice(self, request: VoiceRequest) -> VoiceReply:
        scripted = self.fallback.voice(request).text
        try:
            res = self.client.chat.completions.create(model=self.model, messages=self.messages(request, scripted),
                                                      temperature=0.7, max_tokens=160)
            text = (res.choices[0].message.content or "").strip()
            if not text:
                raise ValueError("empty reply")
        except Exception:
            return VoiceReply(text=scripted, engine="scripted", model=None,
                              notice=NOTICE.get(request.lang, NOTICE["en"]))
        usage = getattr(res, "usage", None)
        return VoiceReply(text=text, engine=self.name, model=getattr(res, "model", None) or self.model,
                          tokens_in=getattr(usage, "prompt_tokens", None),
                          tokens_out=getattr(usage, "completion_tokens", None))

    def stream(self, request: VoiceRequest) -> Iterator[str]:
        yield self.voice(request).text
