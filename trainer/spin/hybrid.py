"""Hybrid labelling of one segment: the learned linear model decides, the rules keep strong cues.

The model (trainer.spin.model) sees the segment's char and word n-grams plus the rules' own vote
and the context flags, so it learns where the lexicon is right and where wording it has never
listed means a problem or an implication. The rules stay on top for what they are sure of: a
strong dialogue-act cue ("put me through", "two minutes", "во вторник в 15") with a rule
confidence of at least STRONG_RULE keeps the rule label, and an implication needs a problem on the
table: with none, a segment the rules call a problem stays a problem. The reason names the rule's cue when
model and rules agree, else the word that pushed the model most.
"""

from __future__ import annotations

from trainer.spin import cues_en, cues_ru
from trainer.spin.classifier import Scored, SegmentInput
from trainer.spin.features import client_features, rule_features, text_features
from trainer.spin.labels import Label, Lang
from trainer.spin.model import LinearModel, load
from trainer.spin.types import Segment

#: Rule confidence from which a dialogue-act cue overrides the model (set a priori, not tuned on held-out).
STRONG_RULE = 0.75
_ACTS = frozenset({Label.ROUTING, Label.PERMISSION, Label.MEETING_REQUEST, Label.CONFIRMATION, Label.GREETING,
                   Label.CLOSING})


def segment_features(item: SegmentInput) -> list[str]:
    """Everything the model sees about one segment."""
    seg = item.scored
    return (text_features(item.norm) + rule_features(seg.segment.label, seg.question, item.problem, item.objection)
            + client_features(item.client))


def relabel(item: SegmentInput, lang: Lang, model: LinearModel | None = None) -> Scored:
    """The segment's final label, confidence and reason under the hybrid approach (shipped weights by default)."""
    rule = item.scored
    if rule.segment.label in _ACTS and rule.segment.confidence >= STRONG_RULE:
        return rule
    model = model or load()
    probs, evidence = model.predict(segment_features(item))
    best = max(range(len(probs)), key=lambda i: probs[i])
    label = model.labels[best]
    if label is Label.IMPLICATION and not item.problem and rule.segment.label is Label.PROBLEM:
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
