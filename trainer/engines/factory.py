"""Pick the engine the settings ask for."""

from __future__ import annotations

from trainer.config import Settings
from trainer.conversation import Classifier
from trainer.engines.base import Engine


def build_engine(settings: Settings) -> Engine:
    if settings.effective_engine == "llm":
        from trainer.engines.llm import LLMEngine

        return LLMEngine.from_settings(settings)
    from trainer.engines.scripted import ScriptedEngine

    return ScriptedEngine()


def build_classifier(settings: Settings) -> Classifier:
    """Offline labels; with an LLM configured, low-confidence ones are confirmed or corrected by it."""
    from trainer.spin.classifier import classify

    if settings.effective_engine != "llm":
        return classify
    from openai import OpenAI

    from trainer.spin.llm import LLMClassifier

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    client = OpenAI(api_key=key, base_url=settings.openai_base_url, max_retries=0,
                    timeout=min(settings.llm_timeout_s, 8.0))
    return LLMClassifier(client, settings.llm_model)
