"""Sparse features of one segment for the learned classifier: char n-grams, words, rule votes, context.

Shared by training (trainer.spin.train) and inference (trainer.spin.model) so the two never drift.
Char n-grams (2..5, inside word boundaries) carry stems and typos in both languages; word uni- and
bigrams carry phrasing; the lexical rules' label for the segment, the question flag and the context
flags (problem on the table, objection pending) let the model lean on the rules where they are sure
and on context where the words alone cannot tell problem from implication.
"""

from __future__ import annotations

import itertools
import re

from trainer.spin.labels import Label

_WORD_RE = re.compile(r"[0-9a-zа-я']+")
NGRAM_MIN, NGRAM_MAX = 2, 5


def text_features(norm: str) -> list[str]:
    """Char n-grams and word n-grams of normalised text (lowercase, ё -> е)."""
    words = _WORD_RE.findall(norm)
    feats: list[str] = []
    padded = " " + " ".join(words) + " "
    for n in range(NGRAM_MIN, NGRAM_MAX + 1):
        feats.extend("c" + padded[i:i + n] for i in range(len(padded) - n + 1))
    feats.extend("w" + w for w in words)
    feats.extend(f"b{a} {b}" for a, b in itertools.pairwise(words))
    if words:
        feats.append("f" + words[0])
        if len(words) > 1:
            feats.append(f"f{words[0]} {words[1]}")
    return feats


def rule_features(rule_label: Label, question: bool, problem: bool, objection: bool) -> list[str]:
    """Rule vote and context flags, with the crossings a linear model cannot form itself."""
    q = "q" if question else "s"
    p = "P" if problem else "-"
    o = "O" if objection else "-"
    return ["r" + rule_label.value, f"r{rule_label.value}|{q}", f"r{rule_label.value}|{p}", "q" + q, "ctx" + p,
            "obj" + o, f"ctx{p}|{q}", f"obj{o}|{q}"]
