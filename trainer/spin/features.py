"""Sparse features of one segment for the learned classifier: char n-grams, words, rule votes, context.

Shared by training (trainer.spin.train) and inference (trainer.spin.model) so the two never drift.
Char n-grams (2..5, inside word boundaries) carry stems and typos in both languages; word uni- and
bigrams carry phrasing; light stems (trainer.spin.stem) carry a Russian word across its cases;
the question word crossed with each stem ("how|often", "как|сказыва") lets a linear model tell
"how many trucks" from "how many breakdowns"; modal and negation flags mark "would it help" and
"wouldn't our"; the lexical rules' label, the question flag and the context flags (problem on the
table, objection pending) plus the stems of the client's last turn let the model use context where
the words alone cannot tell problem from implication.
"""

from __future__ import annotations

import itertools
import re

from trainer.spin.labels import Label
from trainer.spin.stem import stem

_WORD_RE = re.compile(r"[0-9a-zа-я']+")
NGRAM_MIN, NGRAM_MAX = 2, 5
_MODALS = frozenset({"would", "could", "might", "бы", "б", "if", "если"})
_NEGATIONS = frozenset({"not", "no", "never", "wouldn't", "isn't", "don't", "doesn't", "aren't", "won't",
                        "не", "нет", "ни", "никогда", "разве", "неужели"})
_QWORDS = frozenset({"how", "what", "which", "who", "where", "when", "why", "do", "does", "did", "is", "are",
                     "have", "has", "can", "would", "could", "any", "tell", "как", "какой", "какие", "какая",
                     "каким", "что", "чем", "кто", "где", "когда", "почему", "зачем", "сколько", "насколько",
                     "есть", "ли", "бывает", "бывают", "расскажите", "подскажите", "а", "и"})
_CLIENT_WORDS = 40  # stems of the client's last turn that reach the model


def _stems(words: list[str]) -> list[str]:
    return [stem(w) for w in words]


def text_features(norm: str) -> list[str]:
    """Char n-grams, word n-grams, stems and question-word crossings of normalised text (lowercase, ё -> е)."""
    words = _WORD_RE.findall(norm)
    feats: list[str] = []
    padded = " " + " ".join(words) + " "
    for n in range(NGRAM_MIN, NGRAM_MAX + 1):
        feats.extend("c" + padded[i:i + n] for i in range(len(padded) - n + 1))
    feats.extend("w" + w for w in words)
    feats.extend(f"b{a} {b}" for a, b in itertools.pairwise(words))
    stems = _stems(words)
    feats.extend("s" + s for s in stems)
    feats.extend(f"t{a} {b}" for a, b in itertools.pairwise(stems))
    qwords = [w for w in words[:3] if w in _QWORDS]
    for q in qwords[:2]:
        feats.extend(f"x{q}|{s}" for s in stems if s != q)
    if words:
        feats.append("f" + words[0])
        if len(words) > 1:
            feats.append(f"f{words[0]} {words[1]}")
    modal = any(w in _MODALS for w in words)
    negated = any(w in _NEGATIONS or w.endswith("n't") for w in words)
    feats.append(f"m{'M' if modal else '-'}{'N' if negated else '-'}")
    return feats


def rule_features(rule_label: Label, question: bool, problem: bool, objection: bool) -> list[str]:
    """Rule vote and context flags, with the crossings a linear model cannot form itself."""
    q = "q" if question else "s"
    p = "P" if problem else "-"
    o = "O" if objection else "-"
    return ["r" + rule_label.value, f"r{rule_label.value}|{q}", f"r{rule_label.value}|{p}", "q" + q, "ctx" + p,
            "obj" + o, f"ctx{p}|{q}", f"obj{o}|{q}"]


def client_features(client_norm: str) -> list[str]:
    """Stems of the client's last turn (normalised), so the model sees what was just admitted."""
    words = _WORD_RE.findall(client_norm)[:_CLIENT_WORDS]
    if not words:
        return ["k-"]
    return ["k+", *sorted({"k" + s for s in _stems(words) if len(s) > 2})]
