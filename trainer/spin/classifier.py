"""The offline SPIN classifier: weighted lexical cues per label and language, plus rules.

How one turn is labelled
------------------------
1. The turn is split into segments (trainer.spin.segment) and its language is detected unless given.
2. Each segment is normalised (lowercase, ё -> е) and every cue of the language's lexicon
   (trainer.spin.cues_en / cues_ru) that matches adds its weight to its label: a label scores
   its strongest cue plus a quarter of the others. The weights carry the taxonomy's precedence:
   leading pitch questions and dialogue-act phrases (routing, permission, meeting, confirmation)
   > value questions (need-payoff) > consequence questions (implication) > difficulty words
   (problem) > fact-finding words (situation).
3. Question or statement: a "?" or a question opening ("how", "do you", "сколько", "ли", ...).
   A question with no (stronger) cue is a situation question (asking about facts); a statement
   needs strong cues to carry a SPIN label, otherwise it is `other`.
4. Context: an implication presupposes a problem on the table: a client turn admitting a
   difficulty, an earlier trainee problem question, or an earlier problem segment of this turn.
   With one, consequence cues are strengthened. Without one, "what happens when ..." /
   "что происходит, когда ..." only surfaces a difficulty and is labelled `problem`; explicit
   consequence words ("affect", "cost you", "сказывается") stay `implication` at lower confidence.
   After a client objection, answering phrases ("I understand", "понимаю") become
   `objection_response`.
5. Confidence is the margin of the best label over the runner-up: best / (best + second + 0.6).

Primary label rule (the turn's label)
-------------------------------------
The main question wins. Among question segments labelled with a SPIN type or a leading pitch
question, the later one wins unless an earlier one is clearly stronger (each later position adds
0.2 to the confidence it is compared by): the buyer answers the last question asked.
If the turn also holds a pitch statement and the winner is a need-payoff question, the turn is
`pitch` ("Our sensors cut waste by 20%. Wouldn't that help?" is a pitch, not need-payoff).
With no SPIN question, any segment other than greeting/other wins, questions before statements,
strongest then later; greeting, then other, only when nothing else is there.
Blank or letterless text is not an error here: it gets `other`, confidence 0 and the reason
"no words to label"; callers that must refuse it (the CLI, the API) check for that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainer.spin import cues_en, cues_ru
from trainer.spin.cues import LEADING, WEAK_IMPLICATION, Lexicon
from trainer.spin.labels import SPIN_LABELS, Label, Lang
from trainer.spin.lang import detect_lang
from trainer.spin.segment import split_segments
from trainer.spin.types import Classification, ContextTurn, Segment

if TYPE_CHECKING:
    from trainer.spin.model import LinearModel

#: At most this many segments of one turn are labelled; a spoken turn never has more.
MAX_SEGMENTS = 100
_QUESTION_BASE = 0.9  # score of `situation` for a question without cues
_STATEMENT_BASE = 1.0  # score of `other` for a statement
_STATEMENT_SPIN_FACTOR = 0.45
_QUESTION_PITCH_FACTOR = 0.8
_QUESTION_OPENER_FACTOR = 0.4
_OPENERS = frozenset({Label.GREETING, Label.OBJECTION_RESPONSE})
_NO_PROBLEM_FACTOR = 0.85  # an implication with no problem on the table is less certain
_LATER_BONUS = 0.2  # a later question wins unless an earlier one is clearly stronger
_LABEL_ORDER = {label: i for i, label in enumerate(Label)}
#: The approach `classify` uses; see docs/classifier.md for the comparison that chose it.
APPROACH = "hybrid"
APPROACHES = ("rules", "lexical", "embedding", "hybrid")


def _lexicon(lang: Lang) -> Lexicon:
    return cues_ru.lexicon() if lang == "ru" else cues_en.lexicon()


@functools.cache
def _space_re() -> re.Pattern[str]:
    return re.compile(r"[\s\u00a0]+")


@functools.cache
def _ru_li_re() -> re.Pattern[str]:
    return re.compile(r"\bли\b")


def normalize(text: str) -> str:
    """Lowercase, fold ё to е, straighten apostrophes, drop control characters, collapse spaces."""
    text = text.lower().replace("ё", "е").replace("’", "'").replace("`", "'").replace("‘", "'")
    if not text.isprintable():  # rare: the check runs in C, the replacement character by character
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _space_re().sub(" ", text).strip()


def is_question(norm: str, lang: Lang) -> bool:
    """A question with or without "?": a question opening, or Russian "ли"."""
    lex = _lexicon(lang)
    if norm.endswith("?") or "?" in norm[-3:]:
        return True
    if lex.question_start.search(norm):
        return True
    return lang == "ru" and _ru_li_re().search(norm) is not None


@dataclass(frozen=True, slots=True)
class _Context:
    problem_on_table: bool
    objection_on_table: bool


@dataclass(frozen=True, slots=True)
class Scored:
    """A labelled segment plus what the primary-label rule needs to know about it."""

    segment: Segment
    question: bool
    leading: bool


def _has_problem_cue(norm: str, lex: Lexicon) -> bool:
    return any(c.label is Label.PROBLEM and c.search(norm) for c in lex.cues)


def read_context(context: Sequence[ContextTurn]) -> tuple[bool, bool]:
    """(problem on the table, objection in the last client turn) from previous turns."""
    problem = False
    objection = False
    for turn in context:
        admits, objects = _turn_flags(turn.role == "client", turn.text)
        problem = problem or admits
        if turn.role == "client":
            objection = objects
    return problem, objection


@functools.lru_cache(maxsize=4096)
def _turn_flags(client: bool, text: str) -> tuple[bool, bool]:
    """(puts a problem on the table, raises an objection) for one earlier turn. Cached: every turn of a call
    is read again as context for each of the next eight, and reading it was half of labelling a line."""
    norm = _context_norm(text)
    lex = _lexicon(detect_lang(norm))
    if not client:
        return _has_problem_cue(norm, lex), False
    problem = lex.problem_talk.search(norm) is not None or _has_problem_cue(norm, lex)
    return problem, lex.objection_talk.search(norm) is not None


@functools.lru_cache(maxsize=4096)
def _context_norm(text: str) -> str:
    """An earlier turn's text, normalised (cached with `_turn_flags`, for the same reason)."""
    return normalize(text[:2000])


def _quote(text: str, lang: Lang) -> str:
    text = text.strip(" ,.?!")
    if len(text) > 50:
        text = text[:47] + "..."
    return f"«{text}»" if lang == "ru" else f"'{text}'"


def _score_segment(raw: str, lang: Lang, ctx: _Context) -> Scored:
    lex = _lexicon(lang)
    norm = normalize(raw)
    question = is_question(norm, lang)
    best: dict[Label, tuple[float, str, str]] = {}
    totals: dict[Label, float] = {}
    strong_implication = 0.0
    for cue in lex.cues:
        match = cue.search(norm)
        if match is None:
            continue
        weight = cue.weight
        if question and cue.label is Label.PITCH and cue.tag != LEADING:
            weight *= _QUESTION_PITCH_FACTOR
        elif question and cue.label in _OPENERS and weight < 2.1:
            weight *= _QUESTION_OPENER_FACTOR  # "Hi Anna, how many trucks..." asks, not greets
        if cue.label is Label.IMPLICATION and cue.tag != WEAK_IMPLICATION:
            strong_implication = max(strong_implication, weight)
        totals[cue.label] = totals.get(cue.label, 0.0) + weight
        if weight > best.get(cue.label, (0.0, "", ""))[0]:
            best[cue.label] = (weight, match.group(0), cue.tag)
    scores = {label: w + 0.25 * (totals[label] - w) for label, (w, _, _) in best.items()}
    keys = {label: label.value for label in best}

    if Label.IMPLICATION in scores:
        if not ctx.problem_on_table and strong_implication == 0.0:
            weak = scores.pop(Label.IMPLICATION)
            scores[Label.PROBLEM] = max(scores.get(Label.PROBLEM, 0.0), weak)
            best[Label.PROBLEM] = best[Label.IMPLICATION]
            keys[Label.PROBLEM] = "problem_from_weak"
        elif ctx.problem_on_table:
            scores[Label.IMPLICATION] += 0.4
        else:
            keys[Label.IMPLICATION] = "implication_no_context"
    if ctx.objection_on_table:
        if Label.OBJECTION_RESPONSE in scores:
            scores[Label.OBJECTION_RESPONSE] += 0.8
        elif not question:
            scores[Label.OBJECTION_RESPONSE] = 1.2
    if question:
        if all(score < _QUESTION_BASE for score in scores.values()):
            scores[Label.SITUATION] = _QUESTION_BASE
            keys[Label.SITUATION] = "situation_default"
    else:
        for label in SPIN_LABELS & scores.keys():
            scores[label] *= _STATEMENT_SPIN_FACTOR
        if Label.OTHER not in scores:
            scores[Label.OTHER] = _STATEMENT_BASE
            keys[Label.OTHER] = "statement_other"

    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], _LABEL_ORDER[kv[0]]))
    label, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    confidence = min(0.97, max(0.05, top / (top + second + 0.6)))
    if keys.get(label) == "implication_no_context":
        confidence *= _NO_PROBLEM_FACTOR
    leading = label is Label.PITCH and best.get(label, (0.0, "", ""))[2] == LEADING
    key = "pitch_leading" if leading else keys.get(label, label.value)
    reason = lex.reasons[key]
    if label in best and key not in ("situation_default", "statement_other"):
        reason = f"{reason}: {_quote(best[label][1], lang)}"
    return Scored(Segment(raw, label, confidence, reason), question, leading)


def _pick_primary(scored: list[Scored]) -> tuple[int, bool]:
    """Index of the main segment, and whether the turn is overridden to pitch."""
    def strength(i: int) -> float:
        return scored[i].segment.confidence + _LATER_BONUS * i

    main_q = [i for i, s in enumerate(scored) if s.question and (s.segment.label in SPIN_LABELS or s.leading)]
    if main_q:
        top = max(main_q, key=strength)
        pitch_statement = any(s.segment.label is Label.PITCH and not s.question for s in scored)
        return top, pitch_statement and scored[top].segment.label is Label.NEED_PAYOFF
    acts = [i for i, s in enumerate(scored) if s.segment.label not in (Label.GREETING, Label.OTHER)]
    if acts:
        asked = [i for i in acts if scored[i].question]
        return max(asked or acts, key=strength), False
    greetings = [i for i, s in enumerate(scored) if s.segment.label is Label.GREETING]
    return max(greetings or range(len(scored)), key=strength), False


@dataclass(frozen=True, slots=True)
class SegmentInput:
    """One segment as the rules saw it, with the context flags in force before it."""

    scored: Scored
    norm: str
    problem: bool
    objection: bool
    client: str = ""  # the client's last turn, normalised ("" when there is none)


def last_client_turn(context: Sequence[ContextTurn]) -> str:
    """The normalised text of the client's most recent turn, or ""."""
    for turn in reversed(context):
        if turn.role == "client":
            return _context_norm(turn.text)
    return ""


def rule_pass(text: str, context: Sequence[ContextTurn], lang: Lang) -> list[SegmentInput]:
    """Split and label every segment with the lexical rules; context flows from earlier segments."""
    problem, objection = read_context(context)
    client = last_client_turn(context)
    out: list[SegmentInput] = []
    for piece in split_segments(text)[:MAX_SEGMENTS]:
        item = _score_segment(piece, lang, _Context(problem, objection))
        out.append(SegmentInput(item, normalize(piece), problem, objection, client))
        if item.segment.label in (Label.PROBLEM, Label.IMPLICATION):
            problem = True
    return out


Elsewhere = Callable[[str, Sequence[ContextTurn], "Lang | None"], "Classification | None"]
_elsewhere: dict[str, Elsewhere] = {}


def label_elsewhere(labeller: Elsewhere | None) -> None:
    """Have `classify` ask `labeller` first: a serving process's encoder child, which runs this same code
    beside the server's GIL (trainer.spin.encoder_process: why). It answers None when it cannot, and the
    line is labelled here. None stops asking it. The labeller replaced is closed if it can be (a
    `LabelsAhead` stops its thread)."""
    old = _elsewhere.pop("labeller", None) if labeller is None else _elsewhere.get("labeller")
    if labeller is not None:
        _elsewhere["labeller"] = labeller
    close = getattr(old, "close", None)
    if old is not labeller and callable(close):
        close()


def label_ahead(text: str, context: Sequence[ContextTurn], lang: Lang | None
                ) -> Future[Classification | None] | None:
    """A line about to be labelled in `context` (the call's last turns as the server last stored them): have
    the labeller elsewhere begin its label now (`trainer.spin.label_ahead`) and give its future, or, without
    one that can, begin encoding the line (`prefetch_vectors`) and give None. `classify` uses a label begun
    ahead only for exactly this line, context and language."""
    start = getattr(_elsewhere.get("labeller"), "start", None)
    if callable(start):
        begun: Future[Classification | None] | None = start(text, context, lang)
        return begun
    prefetch_vectors(text)
    return None


def classify(text: str, context: Sequence[ContextTurn] = (), lang: Lang | None = None) -> Classification:
    """Label one trainee turn: every segment, then the primary label by the main-question rule."""
    labeller = _elsewhere.get("labeller")
    if labeller is not None:
        result = labeller(text, context, lang)
        if result is not None:
            return result
    return classify_with(text, context, lang, APPROACH)


def classify_with(text: str, context: Sequence[ContextTurn], lang: Lang | None, approach: str,
                  model: LinearModel | None = None) -> Classification:
    """`classify` with an explicit approach: "rules" (lexical cues only) or a learned one on top of the rules:
    "lexical" (n-gram features), "embedding" (sentence vectors) or "hybrid" (both).

    `model` replaces the shipped weights (cross-validation trains one per fold).
    """
    lang = lang or detect_lang(text[:2000])
    lex = _lexicon(lang)
    inputs = rule_pass(text, context, lang)
    if not inputs:
        return Classification(Label.OTHER, 0.0, lex.reasons["empty"], lang, ())
    scored = [item.scored for item in inputs]
    if approach != "rules":
        from trainer.spin.hybrid import relabel_all  # numpy is only imported when the model is used

        scored = relabel_all(inputs, lang, model, approach)
    index, to_pitch = _pick_primary(scored)
    main = scored[index].segment
    label, confidence, reason = main.label, main.confidence, main.reason
    if to_pitch:
        pitch = max((s.segment for s in scored if s.segment.label is Label.PITCH), key=lambda s: s.confidence)
        label, confidence = Label.PITCH, max(pitch.confidence, main.confidence)
        reason = f"{lex.reasons['pitch_turn']}: {_quote(pitch.text, lang)}"
    if len(scored) > 1:
        reason = f"{reason} ({lex.reasons['main_of'].format(n=len(scored))})"
    return Classification(label, confidence, reason, lang, tuple(s.segment for s in scored))


def classify_many(texts: Iterable[str], lang: Lang | None = None) -> list[Classification]:
    """Label independent utterances (no context between them)."""
    return [classify(text, (), lang) for text in texts]


def warm_up() -> None:
    """Load the learned model and its sentence encoder now (about a second), so that a server's first
    labelled turn does not wait for them."""
    classify("Hello, how do you handle deliveries today?", (), "en")


def prefetch_vectors(text: str) -> None:
    """Start encoding the segments of a trainee line about to be labelled (`embed.prefetch`), so that the
    encoding overlaps what a server does before the label (sign-in, loading the call) instead of following
    it. The label is the same with or without it; a line refused later only cost the encoder's time."""
    if APPROACH in ("embedding", "hybrid"):
        from trainer.spin.embed import prefetch

        prefetch(split_segments(text)[:MAX_SEGMENTS])


def read_ahead(client_text: str) -> None:
    """Have a client line encoded while the trainee thinks about it: the sentence vector of the client's last
    turn is part of labelling the answer, and waiting for it then would lengthen the label. Held back a
    moment, the replies of several calls share an encoding (`embed.prefetch_later`)."""
    if APPROACH not in ("embedding", "hybrid"):
        return
    client = last_client_turn((ContextTurn(role="client", text=client_text),))
    if client:
        from trainer.spin.embed import prefetch_later

        prefetch_later([client])
