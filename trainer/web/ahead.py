"""The model asked on the line's arrival, with the request the turn will most likely make.

Why: even asked while the line is written (trainer.web.early), the model heard the question only after
the request had waited for a database place, signed in, loaded the call and labelled the line: on two
cores under load, 5 ms at the median and 15 to 25 at the 95th percentile before the model's first word
could even begin. Yet that request is, nearly always, known on arrival: the line is in the body, its
label is begun then (trainer.spin.label_ahead), and the rest (the persona, the director's state, the seed
and the transcript) is what this process stored for the call a few seconds earlier
(trainer.web.recent.ReplyBasis). The director is a pure function of those; so the request is worked out
as soon as the label is in, and the model asked with it (`EarlyReply.guess`).

Another persona the decision involves (the call was put through to a transfer target) is taken as a turn
in this process last looked it up (trainer.services.personas.last_resolved); one no turn here looked up
yet leaves the request to the turn. The first line of a call is guessed too: starting the call is a
writer's sign-in, and leaves the call's basis (trainer.web.api.call_started).

A guess, checked before anything of it is used: the turn works out its request as ever, from the call
it loaded, and hands it to `EarlyReply.start`; only if it is exactly the guessed request does the reply
begun ahead stand, otherwise it is stopped and the model asked anew. So a guess cannot change what is
said or stored. It is made only for the call's own trainee, recognised by credentials that signed in as that
writer in this process lately (trainer.web.recent.RecentWriters matched against the basis' user): a
stranger's line never reaches the model, and a caller whose
sign-in then fails (a token revoked meanwhile) costs one request withdrawn. A turn the handler refuses
(a 409, a 429) withdraws it the same way.
"""

from __future__ import annotations

from concurrent.futures import Future

from trainer import conversation
from trainer.engines.base import VoiceRequest
from trainer.personas.director import DirectorState
from trainer.personas.model import Persona
from trainer.services.personas import last_resolved
from trainer.spin.labels import Lang
from trainer.spin.types import Classification, ContextTurn
from trainer.web.early import EarlyReply
from trainer.web.recent import ReplyBasis


class _NeedsLookup(Exception):
    """The decision involves a persona this process has not looked up yet: only the turn, with the
    database, can tell."""


def _looked_up_before(persona_id: str) -> Persona:
    """Another persona (a transfer target) as a turn in this process last resolved it: the turn resolves
    it again, and a persona changed meanwhile only makes the guess wrong."""
    found = last_resolved(persona_id)
    if found is None:
        raise _NeedsLookup(persona_id)
    return found


def guessed_request(lang: Lang, basis: ReplyBasis, text: str, label: Classification) -> VoiceRequest | None:
    """The request `trainer.services.calls.begin_turn` makes for `text` labelled `label` in a call that is
    as `basis` says, or None when the turn would make none (the call ends without a reply) or only the
    database can tell (another persona on the line, or put through to, that no turn here looked up yet)."""
    state = DirectorState.from_dict(basis.state)
    try:
        decided = conversation.decide(basis.persona, lang, state, basis.history, text, _looked_up_before,
                                      lambda _text, _context, _lang: label)
        if decided.decision is None:
            return None
        speaker = conversation.speaker_of(basis.persona, decided.decision, _looked_up_before)
    except _NeedsLookup:
        return None
    return VoiceRequest(persona=speaker, lang=lang, decision=decided.decision, state=decided.state,
                        history=(*basis.history, ContextTurn(role="trainee", text=text)), seed=basis.seed,
                        turn_index=len(basis.history) + 1)


def ask_when_labelled(early: EarlyReply, lang: Lang, basis: ReplyBasis, text: str,
                      label: Future[Classification | None]) -> None:
    """Once the label begun ahead is in, ask the model with the request it gives. The request is worked out
    where the label was read, the moment it was: on the event loop when the child's answer came on the
    loop's own channel (trainer.spin.encoder_ahead; the model is then asked in the same step), else on the
    thread that finished it, and only the asking goes to the loop (`EarlyReply.guess_soon`). Nothing
    happens if the turn asked first, or the label did not come (the turn labels it itself)."""

    def labelled(done: Future[Classification | None]) -> None:
        if done.cancelled() or early.started:  # taken back by the turn, or the turn asked already
            return
        try:
            classification = done.result()
        except Exception:  # the labeller failed: the turn labels the line itself
            return
        if classification is None:
            return
        request = guessed_request(lang, basis, text, classification)
        if request is not None:
            early.guess_soon(request)

    label.add_done_callback(labelled)
