"""Which streamed words go out at once and which wait to go out together (`_Relay`)."""

from __future__ import annotations

from trainer.web.streaming import _Relay


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_word_goes_at_once_and_later_ones_at_most_every_interval() -> None:
    clock = Clock()
    relay = _Relay(0.05, clock)
    out = []
    for at, word in [(0.0, "Yes,"), (0.02, " we"), (0.04, " looked"), (0.06, " at"), (0.08, " that"), (0.2, " last")]:
        clock.now = 100.0 + at
        out.append(relay.add(word))
    assert out == ["Yes,", "", "", " we looked at", "", " that last"]
    assert relay.rest() == ""


def test_what_is_held_back_comes_out_at_the_end() -> None:
    clock = Clock()
    relay = _Relay(0.05, clock)
    assert relay.add("Da") == "Da"
    assert relay.add(", ") == "" and relay.add("конечно") == ""
    assert relay.rest() == ", конечно" and relay.rest() == ""


def test_no_interval_relays_every_piece() -> None:
    relay = _Relay(0.0, Clock())
    assert [relay.add(w) for w in ("a", " b", " c")] == ["a", " b", " c"]
