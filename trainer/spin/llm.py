"""Optional LLM check of low-confidence offline labels, through any OpenAI-compatible endpoint.

The offline classifier always runs first and stays the fallback: the LLM is asked only when the
offline turn label's confidence is below `threshold`, and any failure (network, timeout, HTTP
error, unparsable or off-taxonomy answer) returns the offline label unchanged. The LLM sees the
same taxonomy as the corpus and the docs (rubrics/taxonomy.yaml: definitions, examples and the
primary-label rule, in the turn's language) and must answer with a JSON-schema response
`{"label", "confidence", "reason"}`. Answers are cached in-process (LRU) by a hash of the text,
the context, the language and the model name, so a replayed turn costs no second request.

Wiring: `LLMClassifier(openai.OpenAI(base_url=..., api_key=..., max_retries=0), model, threshold)`
is a classifier like `trainer.spin.classifier.classify` (call it, or `.classify`). A label it checked
carries a `LabelCheck` (model, completion id, latency, cached), stored with the turn.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from trainer.spin.classifier import classify as offline_classify
from trainer.spin.labels import Label, Lang
from trainer.spin.lang import detect_lang
from trainer.spin.types import Classification, ContextTurn, LabelCheck

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletionMessageParam

TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "rubrics" / "taxonomy.yaml"
DEFAULT_THRESHOLD = 0.6
DEFAULT_TIMEOUT = 8.0
CONTEXT_TURNS = 6  # previous turns shown to the LLM
MAX_TEXT = 2000  # characters of the turn sent to the LLM
_Answer = tuple[tuple[Label, float, str], str | None]  # (label, confidence, reason) and the completion's id
_NOTE = {"en": {"confirmed": "confirmed by the LLM", "override": "LLM, offline label was"},
         "ru": {"confirmed": "подтверждено LLM", "override": "LLM, офлайн-метка была"}}


def response_schema() -> dict[str, Any]:
    """The JSON schema the LLM's answer must follow (strict structured output)."""
    return {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": [label.value for label in Label]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string"},
        },
        "required": ["label", "confidence", "reason"],
        "additionalProperties": False,
    }


@functools.cache
def _taxonomy(path: Path = TAXONOMY_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def system_prompt(lang: Lang) -> str:
    """Instructions plus every label's definition and examples from rubrics/taxonomy.yaml."""
    tax = _taxonomy()
    lines = [
        "You label one trainee utterance from a sales cold call (the trainee is the seller) with the SPIN "
        "taxonomy below. Label the trainee's utterance, not the client's turns, which are context only. "
        "An implication question presupposes a problem already raised in the context. "
        f"The utterance is in {'Russian' if lang == 'ru' else 'English'}; write the reason in that language, "
        "one short sentence naming the words that decided it. Answer only with the JSON object of the schema.",
        "",
        "Turn label rule: " + str(tax["primary_rule"][lang]).strip(),
        "",
        "Labels:",
    ]
    for value, spec in tax["labels"].items():
        examples = "; ".join(str(e) for e in spec.get("examples", {}).get(lang, []))
        lines.append(f"- {value}: {str(spec['definition'][lang]).strip()} Examples: {examples}")
    return "\n".join(lines)


def user_prompt(text: str, context: Sequence[ContextTurn]) -> str:
    """The recent context turns and the utterance to label."""
    shown = context[-CONTEXT_TURNS:]
    parts = [f"[{turn.role}] {turn.text[:MAX_TEXT]}" for turn in shown]
    ctx = "\n".join(parts) if parts else "(none)"
    return f"Previous turns:\n{ctx}\n\nTrainee utterance to label:\n{text[:MAX_TEXT]}"


def cache_key(text: str, context: Sequence[ContextTurn], lang: Lang, model: str) -> str:
    """A pure hash of everything the answer depends on."""
    payload = json.dumps([text, [[t.role, t.text] for t in context], lang, model], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def parse_answer(content: str | None) -> tuple[Label, float, str]:
    """Label, confidence and reason from the LLM's JSON; ValueError when it is not schema-shaped."""
    if not content:
        raise ValueError("empty LLM answer")
    data = json.loads(content)
    if not isinstance(data, dict):
        raise ValueError("LLM answer is not a JSON object")
    label = Label(str(data.get("label")))
    confidence = data.get("confidence")
    reason = data.get("reason")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not isinstance(reason, str):
        raise ValueError("LLM answer lacks a numeric confidence or a reason")
    return label, min(1.0, max(0.0, float(confidence))), reason.strip()[:300]


class LLMClassifier:
    """Offline label first; an LLM confirms or overrides it when the offline confidence is low."""

    def __init__(self, client: OpenAI, model: str, threshold: float = DEFAULT_THRESHOLD, *,
                 timeout: float = DEFAULT_TIMEOUT, cache_size: int = 2048) -> None:
        self.client = client
        self.model = model
        self.threshold = threshold
        self.timeout = timeout
        self.cache_size = cache_size
        self.requests = 0  # LLM calls made (not cache hits), for metrics and tests
        self._cache: OrderedDict[str, _Answer] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str, context: Sequence[ContextTurn] = (), lang: Lang | None = None) -> Classification:
        return self.classify(text, context, lang)

    def classify(self, text: str, context: Sequence[ContextTurn] = (), lang: Lang | None = None) -> Classification:
        """The offline classification, confirmed or overridden by the LLM when it is unsure."""
        lang = lang or detect_lang(text[:2000])
        offline = offline_classify(text, context, lang)
        return self.confirm(text, context, lang, offline) if self.unsure(offline) else offline

    def unsure(self, offline: Classification) -> bool:
        """Whether the LLM is asked about this offline label: callers that hold a database transaction
        close it first only when it is (trainer.services.calls.settle_label)."""
        return offline.confidence < self.threshold and bool(offline.segments)

    def confirm(self, text: str, context: Sequence[ContextTurn], lang: Lang, offline: Classification
                ) -> Classification:
        """Ask the LLM (or the cache) about `offline`; any failure returns `offline` unchanged."""
        key = cache_key(text, context, lang, self.model)
        cached = self._cached(key)
        if cached is not None:
            answer, completion_id = cached
            check = LabelCheck(self.model, offline.label, completion_id, None, cached=True)
        else:
            started = time.perf_counter()
            try:
                answer, completion_id = self._ask(text, context, lang)
            except Exception:  # any failure of the optional path falls back to the offline label
                return offline
            check = LabelCheck(self.model, offline.label, completion_id, (time.perf_counter() - started) * 1000)
            self._store(key, (answer, completion_id))
        return merge(offline, answer, check)

    def _ask(self, text: str, context: Sequence[ContextTurn], lang: Lang
             ) -> tuple[tuple[Label, float, str], str | None]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system_prompt(lang)},
            {"role": "user", "content": user_prompt(text, context)},
        ]
        self.requests += 1
        res = self.client.chat.completions.create(
            model=self.model, messages=messages, temperature=0, timeout=self.timeout,
            response_format={"type": "json_schema",
                             "json_schema": {"name": "spin_label", "strict": True, "schema": response_schema()}},
        )
        completion_id = getattr(res, "id", None)
        return parse_answer(res.choices[0].message.content), completion_id if isinstance(completion_id, str) else None

    def _cached(self, key: str) -> _Answer | None:
        with self._lock:
            answer = self._cache.get(key)
            if answer is not None:
                self._cache.move_to_end(key)
            return answer

    def _store(self, key: str, answer: _Answer) -> None:
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)


def merge(offline: Classification, answer: tuple[Label, float, str], check: LabelCheck | None = None
          ) -> Classification:
    """Agreement raises the confidence; disagreement takes the LLM's label and reason, segments stay offline."""
    label, confidence, reason = answer
    note = _NOTE[offline.lang]
    if label is offline.label:
        return Classification(label, max(offline.confidence, confidence), f"{offline.reason} ({note['confirmed']})",
                              offline.lang, offline.segments, check)
    text = reason or offline.reason
    return Classification(label, confidence, f"{text} ({note['override']} {offline.label.value})", offline.lang,
                          offline.segments, check)
