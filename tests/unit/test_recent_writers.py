"""`RecentWriters`: which credentials signed in as writers lately (it only decides when a line is encoded);
`RecentContexts`: the last turns of the calls lately stored (only a guess to begin a label with)."""

from __future__ import annotations

import pytest

from trainer.conversation import CONTEXT_TURNS
from trainer.spin.types import ContextTurn
from trainer.web.deps import Credentials
from trainer.web.recent import BASIS_CHARS, RecentContexts, RecentWriters, ReplyBasis


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def creds(token: str | None = None, cookie: str | None = None) -> Credentials:
    return Credentials(token=token, cookie=cookie, csrf_sent="")


def test_a_sign_in_is_known_until_its_time_is_up() -> None:
    clock = Clock()
    recent = RecentWriters(ttl_s=60, clock=clock)
    tina = creds(token="tina-token")
    assert not recent.knows(tina)
    recent.saw(tina)
    clock.now += 59
    assert recent.knows(tina)
    assert not recent.knows(creds(token="someone-else")), "another token is not known"
    assert not recent.knows(creds(cookie="tina-token")), "a cookie with a token's text is not that token"
    clock.now += 2
    assert not recent.knows(tina)
    recent.saw(tina)
    assert recent.knows(tina), "a new sign-in counts from now"


def test_cookies_count_and_anonymous_callers_never_do() -> None:
    recent = RecentWriters()
    recent.saw(creds(cookie="session-cookie"))
    recent.saw(creds())
    assert recent.knows(creds(cookie="session-cookie"))
    assert not recent.knows(creds())


def test_the_oldest_are_forgotten_beyond_the_size_and_no_token_is_kept() -> None:
    recent = RecentWriters(size=3)
    for name in ("a", "b", "c"):
        recent.saw(creds(token=f"token-{name}"))
    recent.saw(creds(token="token-a"))  # signed in again: now the latest
    recent.saw(creds(token="token-d"))
    assert [recent.knows(creds(token=f"token-{n}")) for n in "abcd"] == [True, False, True, True]
    assert all(b"token" not in key for key in recent._seen), "a credential kept in the clear"


@pytest.mark.parametrize(("ttl_s", "size"), [(0, 10), (-1, 10), (60, 0)])
def test_a_nonsense_time_or_size_is_refused(ttl_s: float, size: int) -> None:
    with pytest.raises(ValueError, match="positive time and size"):
        RecentWriters(ttl_s=ttl_s, size=size)


def test_a_calls_last_turns_are_remembered_as_its_next_label_reads_them() -> None:
    contexts = RecentContexts(size=2)
    turns = [ContextTurn("client" if n % 2 == 0 else "trainee", f"turn {n}") for n in range(11)]
    assert contexts.guess(1) is None
    contexts.remember(1, "ru", turns)
    assert contexts.guess(1) == ("ru", tuple(turns[-CONTEXT_TURNS:]))
    contexts.remember(1, "ru", turns[:2])  # a later line replaces the guess
    assert contexts.guess(1) == ("ru", tuple(turns[:2]))
    contexts.remember(2, "en", turns[:1])
    contexts.remember(3, "en", turns[:1])  # the call least lately stored is forgotten first
    assert contexts.guess(1) is None and contexts.guess(2) == contexts.guess(3) == ("en", (turns[0],))
    with pytest.raises(ValueError, match="at least one call"):
        RecentContexts(size=0)


def test_a_writer_is_remembered_as_the_user_they_signed_in_as() -> None:
    clock = Clock()
    recent = RecentWriters(ttl_s=60, clock=clock)
    recent.saw(creds(token="t1"), 7)
    recent.saw(creds(cookie="c1"))
    assert recent.writer(creds(token="t1")) == 7 and recent.knows(creds(token="t1"))
    assert recent.writer(creds(cookie="c1")) is None and recent.knows(creds(cookie="c1"))
    assert recent.writer(creds(token="t2")) is None
    clock.now += 61
    assert recent.writer(creds(token="t1")) is None and not recent.knows(creds(token="t1"))


def test_a_calls_reply_basis_is_kept_with_its_turns_unless_too_long_and_forgotten_on_request() -> None:
    from pathlib import Path

    from trainer.personas.loader import load_persona_file

    persona = load_persona_file(Path(__file__).resolve().parents[2] / "personas" / "logistics-director.yaml")
    contexts = RecentContexts()
    turns = tuple(ContextTurn("client" if n % 2 == 0 else "trainee", f"turn {n}") for n in range(11))
    basis = ReplyBasis(user_id=3, persona=persona, state={"stage": "discovery"}, seed=5, history=turns)
    contexts.remember(1, "en", turns, basis)
    assert contexts.basis(1) == ("en", basis) and contexts.guess(1) == ("en", turns[-CONTEXT_TURNS:])
    contexts.remember(2, "en", turns)  # no basis given: the label's guess only
    assert contexts.basis(2) is None and contexts.guess(2) is not None
    long = (*turns, ContextTurn("client", "x" * BASIS_CHARS))
    contexts.remember(3, "en", long, ReplyBasis(3, persona, {}, 5, long))
    assert contexts.basis(3) is None and contexts.guess(3) == ("en", long[-CONTEXT_TURNS:])
    contexts.forget(1)
    contexts.forget(99)  # never remembered: nothing to do
    assert contexts.basis(1) is None and contexts.guess(1) is None
