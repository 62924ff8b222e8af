"""Text that Python holds but UTF-8 cannot: half of a UTF-16 surrogate pair, which a JSON "\\ud800" escape
lets into a str. The database, the encoder and a terminal all refuse it, each with a crash of its own;
the places that take text in name it instead (a turn's line, the classify command's input)."""

from __future__ import annotations


def unpaired_surrogate(text: str) -> int | None:
    """Index of the first character UTF-8 cannot encode (an unpaired surrogate), or None. In C: the check
    is one encoding of the text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def surrogate_problem(text: str, what: str) -> str | None:
    """Why `text` (called `what` in the message) cannot be taken, or None: the character, escaped, and where
    (1-based), e.g. 'text has an unpaired UTF-16 surrogate (\\ud800) at character 17; ...'."""
    at = unpaired_surrogate(text)
    if at is None:
        return None
    return (f"{what} has an unpaired UTF-16 surrogate (\\u{ord(text[at]):04x}) at character {at + 1}; "
            "send valid Unicode text")


def encodable(text: str) -> str:
    """`text` with each unpaired surrogate replaced by "?": for work that only reads the text (a sentence
    vector), never for what is stored or shown."""
    return text if unpaired_surrogate(text) is None else text.encode("utf-8", "replace").decode("utf-8")
