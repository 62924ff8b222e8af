"""Learned labelling of one segment: a linear model decides, the rules keep strong cues.

Three learned approaches share this code and differ in what the model sees (trainer.spin.model):
`lexical` (char/word n-grams, stems, question-word crossings, client-turn stems), `embedding`
(sentence vectors of the segment and of the client's last turn, trainer.spin.embed) and `hybrid`
(both). All three also see the rules' own vote and the context flags, so they learn where the
lexicon is right. The rules stay on top for what they are sure of: a strong dialogue-act cue
("put me through", "two minutes", "во вторник в 15") with a rule confidence of at least
STRONG_RULE keeps the rule label, and an implication needs a problem on the table: with no
problem found by the rules and no client turn, a segment the rules call a problem stays a problem.
When the client has spoken, the model reads that turn (its stems and its vector), which may admit a
difficulty the rules' word lists miss ("с подбором сейчас полный беспорядок"), and decides. The
reason names the rule's cue when model and rules agree, else the word that pushed the model most.
"""

from __future__ import annotations

from collections.abc import Sequence

from trainer.spin import cues_en, cues_ru
from trainer.spin.classifier import Scored, SegmentInput
from trainer.spin.features import client_features, rule_features, text_features
from trainer.spin.labels import Label, Lang
from trainer.spin.model import Floats, LinearModel, shipped, uses_lexical
from trainer.spin.types import Segment

#: Rule confidence from which a dialogue-act cue overrides the model (set a priori, not tuned on held-out).
STRONG_RULE = 0.75
_ACTS = frozenset({Label.ROUTING, Label.PERMISSION, Label.MEETING_REQUEST, Label.CONFIRMATION, Label.GREETING,
                   Label.CLOSING})


def segment_features(item: SegmentInput, approach: str = "hybrid") -> list[str]:
    """The sparse features the model of `approach` sees about one segment."""
    seg = item.scored
    feats = rule_features(seg.segment.label, seg.question, item.problem, item.objection)
    if uses_lexical(approach):
        feats = text_features(item.norm) + feats + client_features(item.client)
    return feats


def vector_texts(item: SegmentInput) -> tuple[str, str]:
    """The two texts whose sentence vectors the model sees: the segment and the client's last turn."""
    return item.scored.segment.text, item.client


def segment_vector(item: SegmentInput) -> Floats:
    """Segment vector next to the client-turn vector (zeros when there is no client turn)."""
    from trainer.spin.embed import embed_many

    return embed_many(vector_texts(item)).reshape(-1)


def relabel_all(inputs: Sequence[SegmentInput], lang: Lang, model: LinearModel | None = None,
                approach: str = "hybrid") -> list[Scored]:
    """`relabel` of every segment of a turn; their vectors are encoded first as one batch (faster)."""
    model = model or shipped(approach)
    if model.dense is not None and len(inputs) > 1:
        from trainer.spin.embed import embed_many

        embed_many([text for item in inputs for text in vector_texts(item)])
    return [relabel(item, lang, model, approach) for item in inputs]


def relabel(item: SegmentInput, lang: Lang, model: LinearModel | None = None, approach: str = "hybrid") -> Scored:
    """The segment's final label, confidence and reason under a learned approach (shipped weights by default)."""
    rule = item.scored
    if rule.segment.label in _ACTS and rule.segment.confidence >= STRONG_RULE:
        return rule
    model = model or shipped(approach)
    vector = segment_vector(item) if model.dense is not None else None
    probs, evidence = model.predict(segment_features(item, model.approach), vector)
    best = max(range(len(probs)), key=lambda i: probs[i])
    label = model.labels[best]
    if label is Label.IMPLICATION and rule.segment.label is Label.PROBLEM and not (item.problem or item.client):
        return rule  # the taxonomy's context rule: no problem on the table yet, so it surfaces one
    if label is rule.segment.label:
        seg = Segment(rule.segment.text, label, max(probs[best], rule.segment.confidence), rule.segment.reason)
        return Scored(seg, rule.question, rule.leading)
    reasons = cues_ru.REASONS if lang == "ru" else cues_en.REASONS
    reason = f"{reasons[label.value]} ({reasons['learned']})"
    if evidence:
        reason = f"{reason}: «{evidence}»" if lang == "ru" else f"{reason}: '{evidence}'"
    leading = label is Label.PITCH and rule.question
    return Scored(Segment(rule.segment.text, label, probs[best], reason), rule.question, leading)
