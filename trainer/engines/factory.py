"""Pick the engine the settings ask for."""

from __future__ import annotations

from trainer.config import Settings
from trainer.engines.base import Engine


def build_engine(settings: Settings) -> Engine:
    if settings.effective_engine == "llm":
        from trainer.engines.llm import LLMEngine

        return LLMEngine.from_settings(settings)
    from trainer.engines.scripted import ScriptedEngine

    return ScriptedEngine()
