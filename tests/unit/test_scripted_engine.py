"""The scripted engine: voices decisions from the phrase banks, deterministic per seed and turn."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import trainer
from trainer.engines.base import VoiceRequest
from trainer.engines.scripted import ScriptedEngine
from trainer.personas import director
from trainer.personas.director import Decision, DirectorState
from trainer.personas.loader import load_personas
from trainer.personas.model import Persona
from trainer.spin.labels import Lang
from trainer.spin.types import ContextTurn

PERSONAS = Path(trainer.__file__).resolve().parent.parent / "personas"


@cache
def library() -> dict[str, Persona]:
    return load_personas(PERSONAS)


def request(persona: Persona, decision: Decision, lang: Lang = "en", seed: int = 5, turn: int = 1,
            state: DirectorState | None = None, history: tuple[ContextTurn, ...] = ()) -> VoiceRequest:
    return VoiceRequest(persona=persona, lang=lang, decision=decision, state=state or DirectorState(lang=lang),
                        history=history, seed=seed, turn_index=turn)


def test_same_seed_and_turn_give_the_same_words_and_seeds_vary() -> None:
    engine = ScriptedEngine()
    p = library()["logistics-director"]
    pick = Decision("pick_up", None, p.id, False)
    texts = {engine.voice(request(p, pick, seed=s, turn=0)).text for s in range(30)}
    assert engine.voice(request(p, pick, seed=3, turn=0)).text == engine.voice(request(p, pick, seed=3, turn=0)).text
    assert texts <= set(p.first_lines["en"]) and len(texts) > 1


def test_reply_metadata_and_stream_pieces_join_to_the_text() -> None:
    engine = ScriptedEngine()
    p = library()["logistics-director"]
    d = Decision("release_fact", "fleet", p.id, False)
    reply = engine.voice(request(p, d))
    assert (reply.engine, reply.model, reply.tokens_in, reply.tokens_out) == ("scripted", None, None, None)
    pieces = list(engine.stream(request(p, d)))
    assert len(pieces) > 3 and "".join(pieces) == reply.text
    assert engine.name == "scripted"


def test_facts_pains_needs_and_objections_are_voiced_in_the_call_language() -> None:
    engine = ScriptedEngine()
    p = library()["logistics-director"]
    for lang in ("ru", "en"):
        fact = engine.voice(request(p, Decision("release_fact", "fleet", p.id, False), lang)).text
        assert p.facts[0].text[lang] in fact
        pain = engine.voice(request(p, Decision("admit_pain", "fuel_overspend", p.id, False), lang)).text
        assert p.pains[0].admission[lang] in pain
        need = engine.voice(request(p, Decision("state_need", "fuel_overspend", p.id, False), lang)).text
        assert p.pains[0].need[lang] in need
        objection = engine.voice(request(p, Decision("raise_objection", "no_problem", p.id, False), lang)).text
        assert objection in p.objections[0].text[lang]


def test_implications_follow_how_many_were_heard() -> None:
    engine = ScriptedEngine()
    p = library()["logistics-director"]
    d = Decision("develop_pain", "fuel_overspend", p.id, False)
    implications = p.pains[0].implications["en"]
    for heard in (1, 2):
        state = DirectorState(implications_heard={"logistics-director:fuel_overspend": heard})
        assert implications[heard - 1] in engine.voice(request(p, d, state=state)).text


def test_meeting_time_transfer_and_email_placeholders() -> None:
    engine = ScriptedEngine()
    p = library()["logistics-director"]
    ru = engine.voice(request(p, Decision("accept_meeting", "tue 15:00", p.id, True), "ru")).text
    assert "во вторник в 15:00" in ru
    gk = library()["gatekeeper"]
    email = engine.voice(request(gk, Decision("offer_email", None, gk.id, False))).text
    assert "office@northline.example" in email
    # after a transfer the new persona speaks its "put through" line
    put_through = engine.voice(request(p, Decision("transfer", p.id, p.id, False))).text
    assert put_through in p.phrases["en"]["transferred_in"]
    for text in (ru, email, put_through):
        assert "{" not in text


def test_avoids_repeating_a_recent_line() -> None:
    engine = ScriptedEngine()
    p = library()["logistics-director"]
    d = Decision("acknowledge", None, p.id, False)
    first = engine.voice(request(p, d, turn=4)).text
    again = engine.voice(request(p, d, turn=4, history=(ContextTurn("client", first),))).text
    assert again != first


def test_a_whole_scripted_call_has_text_for_every_decision() -> None:
    engine = ScriptedEngine()
    for persona in library().values():
        for lang in persona.languages:
            state, decision = director.open_call(persona, lang, seed=11)
            assert engine.voice(request(persona, decision, lang, state=state, turn=0)).text.strip()
