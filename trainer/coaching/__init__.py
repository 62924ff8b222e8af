"""Live coaching during a practice call: rubric-based nudges and next-question hints. Pure."""

from trainer.coaching.hints import Hint, hint_for
from trainer.coaching.nudges import Nudge, nudges

__all__ = ["Hint", "Nudge", "hint_for", "nudges"]
