"""The persona format: a client on the phone, what it knows, what hurts and how it pushes back.

One YAML file per persona in `personas/`, id = file stem. Every text is given
per language; every declared language must be present everywhere, so a
persona never falls silent in one of its languages. The director reads the
structure; the engines only voice what the director released.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainer.spin.labels import Lang

Difficulty = Literal["easy", "normal", "hard"]
PersonaRole = Literal["gatekeeper", "decision_maker", "user", "influencer", "child", "other"]
ObjectionKind = Literal[
    "pitch_before_need", "send_email", "no_time", "existing_supplier", "price", "not_decider", "not_interested"
]
# When the director looks for an objection: the first trainee turn, a pitch before any explicit
# need, a meeting request before any explicit need, a pitch after a need was stated.
ObjectionEvent = Literal["opening", "pitch", "meeting_request", "pitch_after_need"]

Localized = dict[Lang, str]
LocalizedList = dict[Lang, list[str]]
FieldPath = tuple[str | int, ...]

# Phrase bank keys and the placeholders each may use (besides {name} and {company}).
_TEXT, _PLAIN = frozenset({"text"}), frozenset[str]()
PHRASE_KEYS: dict[str, frozenset[str]] = {
    "release_fact": _TEXT, "admit_pain": _TEXT, "develop_pain": _TEXT, "state_need": _TEXT, "raise_objection": _TEXT,
    "offer_email": frozenset({"email"}), "transfer": frozenset({"contact"}), "accept_meeting": frozenset({"time"}),
    **dict.fromkeys((
        "deflect", "deflect_off_topic", "deflect_too_early", "deflect_not_yet", "deflect_no_problem",
        "deflect_no_pain", "deflect_interrogation", "deflect_routing", "deflect_who", "deflect_not_now",
        "ask_purpose", "transferred_in", "ask_time", "refuse", "refuse_again", "hang_up", "acknowledge",
        "acknowledge_repeat", "acknowledge_resolved", "acknowledge_benefit", "acknowledge_need_first", "goodbye",
    ), _PLAIN),
}
COMMON_PLACEHOLDERS = frozenset({"name", "company"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Strict):
    """Background the client tells a situation question on its topic."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    topics: LocalizedList
    text: Localized


class Pain(_Strict):
    """An implied need: admitted to a problem question on its topic, grown by implication questions,
    stated as an explicit need only to a need-payoff question."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    topics: LocalizedList
    admission: Localized
    implications: LocalizedList
    need: Localized


class Objection(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    kind: ObjectionKind
    when: list[ObjectionEvent] = Field(min_length=1)
    text: LocalizedList


class GatekeeperRules(_Strict):
    """Whom this persona puts the caller through to, and what it takes."""

    transfer_to: str = Field(pattern=r"^[a-z0-9_-]+$")
    contacts: LocalizedList  # names or roles that identify the person to transfer to
    reasons: LocalizedList  # what counts as a legitimate reason for the call
    email: str = "info@example.com"
    requires_need: bool = False  # transfer only after the caller drew out an explicit need


class RefusalRules(_Strict):
    categorical_after: int = Field(default=2, ge=0, le=10)  # pushes before a categorical no; 0: no at once
    hang_up_after: int = Field(default=1, ge=0, le=10)  # pushes after that no before hanging up
    hang_up_on_rudeness: bool = True


class MeetingRules(_Strict):
    possible: bool = True  # False for someone who can never agree (a child, a flat refusal)
    min_needs: int = Field(default=1, ge=1, le=5)


class Persona(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: Localized
    role: PersonaRole
    difficulty: Difficulty = "normal"
    languages: list[Lang] = Field(min_length=1)
    listed: bool = True  # shown in the persona picker; False for contacts reached only by transfer
    company: Localized
    product: Localized  # what the trainee sells to this client
    summary: Localized | None = None  # one line for the picker; built from role and company if absent
    patience: int | None = Field(default=None, ge=1, le=30)
    first_lines: LocalizedList
    facts: list[Fact] = []
    pains: list[Pain] = []
    objections: list[Objection] = []
    gatekeeper: GatekeeperRules | None = None
    refusal: RefusalRules = RefusalRules()
    meeting: MeetingRules = MeetingRules()
    phrases: dict[Lang, dict[str, list[str]]] = {}

    @model_validator(mode="after")
    def _complete(self) -> Persona:
        problems = lint(self)
        if problems:
            raise PersonaLintError(problems)
        return self

    def name_for(self, lang: str) -> str:
        return self.name.get(_lang(self, lang), "")

    def summary_for(self, lang: str) -> str:
        chosen = _lang(self, lang)
        if self.summary:
            return self.summary[chosen]
        role = _ROLE_NAMES[chosen][self.role]
        return f"{role}, {self.company[chosen]}"

    def fact(self, fact_id: str) -> Fact | None:
        return next((f for f in self.facts if f.id == fact_id), None)

    def pain(self, pain_id: str) -> Pain | None:
        return next((p for p in self.pains if p.id == pain_id), None)

    def objection(self, objection_id: str) -> Objection | None:
        return next((o for o in self.objections if o.id == objection_id), None)


def _lang(persona: Persona, lang: str) -> Lang:
    return next((x for x in persona.languages if x == lang), persona.languages[0])


_ROLE_NAMES: dict[Lang, dict[str, str]] = {
    "ru": {"gatekeeper": "Секретарь", "decision_maker": "Лицо, принимающее решение", "user": "Пользователь",
           "influencer": "Влияющий на решение", "child": "Ребёнок у телефона", "other": "Собеседник"},
    "en": {"gatekeeper": "Gatekeeper", "decision_maker": "Decision-maker", "user": "User",
           "influencer": "Influencer", "child": "A child answers", "other": "Contact"},
}


class PersonaLintError(ValueError):
    """Cross-field problems, each with the path of the offending value (the loader finds its line)."""

    def __init__(self, problems: list[tuple[FieldPath, str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        self.problems = problems


def _localized(value: dict[Lang, Any], langs: list[Lang], path: FieldPath, out: list[tuple[FieldPath, str]]) -> None:
    for lang in langs:
        text = value.get(lang)
        if text is None:
            out.append((path, f"missing the {lang!r} text (the persona speaks {', '.join(langs)})"))
        elif isinstance(text, list):
            if not text or any(not t.strip() for t in text):
                out.append(((*path, lang), "needs at least one non-empty entry"))
        elif not text.strip():
            out.append(((*path, lang), "is empty"))


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def lint(p: Persona) -> list[tuple[FieldPath, str]]:
    """Every check pydantic's field types cannot express: languages, ids, placeholders."""
    out: list[tuple[FieldPath, str]] = []
    if len(set(p.languages)) != len(p.languages):
        out.append((("languages",), "lists a language twice"))
    langs = list(dict.fromkeys(p.languages))
    for field in ("name", "company", "product", "first_lines"):
        _localized(getattr(p, field), langs, (field,), out)
    if p.summary is not None:
        _localized(p.summary, langs, ("summary",), out)
    groups: tuple[tuple[str, Sequence[Fact | Pain | Objection], tuple[str, ...]], ...] = (
        ("facts", p.facts, ("topics", "text")),
        ("pains", p.pains, ("topics", "admission", "implications", "need")),
        ("objections", p.objections, ("text",)),
    )
    for group, items, fields in groups:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                out.append(((group, i, "id"), f"duplicate id {item.id!r}"))
            seen.add(item.id)
            for f in fields:
                _localized(getattr(item, f), langs, (group, i, f), out)
    if p.gatekeeper is not None:
        if p.gatekeeper.transfer_to == p.id:
            out.append((("gatekeeper", "transfer_to"), "a persona cannot transfer to itself"))
        _localized(p.gatekeeper.contacts, langs, ("gatekeeper", "contacts"), out)
        _localized(p.gatekeeper.reasons, langs, ("gatekeeper", "reasons"), out)
    for lang, bank in p.phrases.items():
        if lang not in langs:
            out.append((("phrases", lang), f"language {lang!r} is not in languages"))
        for key, variants in bank.items():
            allowed = PHRASE_KEYS.get(key)
            if allowed is None:
                out.append((("phrases", lang, key), f"unknown phrase key {key!r}; known: {', '.join(PHRASE_KEYS)}"))
                continue
            if not variants:
                out.append((("phrases", lang, key), "needs at least one variant"))
            for i, template in enumerate(variants):
                try:
                    unknown = _placeholders(template) - allowed - COMMON_PLACEHOLDERS
                except ValueError as exc:
                    out.append((("phrases", lang, key, i), f"bad template: {exc}"))
                    continue
                if unknown:
                    out.append((("phrases", lang, key, i), f"unknown placeholder {{{sorted(unknown)[0]}}}; "
                                f"allowed: {', '.join(sorted(allowed | COMMON_PLACEHOLDERS))}"))
    return out
