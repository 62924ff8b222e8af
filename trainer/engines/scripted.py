"""The scripted engine: voices the director's decisions from phrase banks, fully offline.

Choice among variants is seeded by (call seed, turn index, act), so a call
replays word for word, while different calls sound different. A variant the
client said in its last few lines is avoided when another one is free.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

from trainer.engines.base import VoiceReply, VoiceRequest
from trainer.personas.model import Persona
from trainer.personas.phrases import DEFAULT_PHRASES
from trainer.personas.timeslot import describe_timeslot
from trainer.spin.labels import Lang

_RECENT = 4  # how many earlier client lines to avoid repeating


class _SafeDict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _pick(options: Sequence[str], seed: int, turn_index: int, salt: str, avoid: Sequence[str] = ()) -> str:
    digest = hashlib.sha256(f"{seed}:{turn_index}:{salt}".encode()).digest()
    start = int.from_bytes(digest[:8], "big") % len(options)
    for shift in range(len(options)):
        option = options[(start + shift) % len(options)]
        if not any(option and option in line for line in avoid):
            return option
    return options[start]


def bank(persona: Persona, lang: Lang, key: str) -> Sequence[str]:
    """The persona's variants for `key`, else the defaults (empty if neither has it)."""
    own = persona.phrases.get(lang, {}).get(key)
    if own:
        return own
    return DEFAULT_PHRASES[lang].get(key, ())


class ScriptedEngine:
    """The embedded default engine: no network, no model, deterministic per call seed."""

    name = "scripted"
    instant = True  # pure code, no I/O: a turn needs no commit before it speaks (see services.calls.take_turn)

    def voice(self, request: VoiceRequest) -> VoiceReply:
        return VoiceReply(text=self.compose(request), engine=self.name)

    def stream(self, request: VoiceRequest) -> Iterator[str]:
        text = self.compose(request)
        yield from re.findall(r"\S+\s*|\s+", text)

    def compose(self, request: VoiceRequest) -> str:
        p, lang, d = request.persona, request.lang, request.decision
        recent = [t.text for t in request.history if t.role == "client"][-_RECENT:]
        salt = f"{d.act}:{d.ref}"
        if d.act == "pick_up":
            return _pick(p.first_lines[lang], request.seed, request.turn_index, salt, recent)
        content = self._content(request)
        key = self._key(request)
        template = _pick(bank(p, lang, key) or bank(p, lang, d.act) or ("{text}",), request.seed,
                         request.turn_index, salt, recent)
        values = _SafeDict(
            text=content, name=p.name[lang], company=p.company[lang],
            time=describe_timeslot(d.ref, lang) if d.act == "accept_meeting" and d.ref else "",
            contact=p.gatekeeper.contacts[lang][0] if p.gatekeeper else "",
            email=p.gatekeeper.email if p.gatekeeper else "info@example.com",
        )
        text = template.format_map(values).strip()
        return _capitalize(text) if text else content

    def _key(self, request: VoiceRequest) -> str:
        d = request.decision
        if d.act == "transfer":
            return "transferred_in" if request.persona.id == d.ref else "transfer"
        if d.act in ("deflect", "acknowledge", "refuse", "goodbye") and d.ref:
            specific = f"{d.act}_{d.ref}"
            if bank(request.persona, request.lang, specific):
                return specific
        return d.act

    def _content(self, request: VoiceRequest) -> str:
        """The persona's own words the decision releases: a fact, a pain, a consequence, a need, an objection."""
        p, lang, d, s = request.persona, request.lang, request.decision, request.state
        if d.ref is None:
            return ""
        if d.act == "release_fact":
            fact = p.fact(d.ref)
            return fact.text[lang] if fact else ""
        if d.act in ("admit_pain", "develop_pain", "state_need"):
            pain = p.pain(d.ref)
            if pain is None:
                return ""
            if d.act == "admit_pain":
                return pain.admission[lang]
            if d.act == "state_need":
                return pain.need[lang]
            options = pain.implications[lang]
            heard = s.implications_heard.get(f"{p.id}:{d.ref}", 1)
            return options[(heard - 1) % len(options)]
        if d.act == "raise_objection":
            objection = p.objection(d.ref)
            if objection is None:
                return ""
            return _pick(objection.text[lang], request.seed, request.turn_index, f"objection:{d.ref}",
                         [t.text for t in request.history if t.role == "client"][-_RECENT:])
        return ""


def _capitalize(text: str) -> str:
    return text[0].upper() + text[1:] if text and text[0].islower() else text
