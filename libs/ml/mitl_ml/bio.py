"""BIO tags over a text's words, and back to character spans with confidences. Pure: no I/O.

A word is one of the tokenizer's pre-tokens (split at whitespace and punctuation), spanning
its wordpieces' characters; the tagger labels each word by its first wordpiece. Tags are "O"
(outside any entity), "B-x" (first word of an entity x) and "I-x" (a later word of it).

Decoding takes each word's most probable tag and reads I-x after a word of an x entity as its
continuation, otherwise as the start of one (the lenient reading, as in mitl_ml.span_data).
A span's confidence is the probability, under the head's per-word tag probabilities taken as
independent, that it is exactly right: its first word is B-x, each later word I-x, and the
word after it (if any) is not I-x (the entity does not run on). `complete`, the confidence that
no entity is missing, is the least probability of "O" over the words outside every span (1.0
when there are none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from mitl_contracts.spans import Span

OUTSIDE = "O"


@dataclass(frozen=True)
class Word:
    """Characters `[start, end)` of one word, and the index of its first wordpiece."""

    start: int
    end: int
    first: int


def words_of(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int]) -> list[Word]:
    """A text's words from its wordpieces' offsets and word ids (in text order)."""
    words: list[Word] = []
    current = None
    for index, ((start, end), word) in enumerate(zip(offsets, word_ids, strict=True)):
        if word != current:
            words.append(Word(start, end, index))
            current = word
        else:
            last = words[-1]
            words[-1] = Word(last.start, max(last.end, end), last.first)
    return words


def tag_set(labels: Sequence[str]) -> list[str]:
    """The tags of an entity label set: "O", then "B-x", "I-x" for each label x in order."""
    return [OUTSIDE] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]


def word_tags(words: Sequence[Word], spans: Sequence[Span]) -> list[str]:
    """Each word's tag under `spans`: a word belongs to the span its first character falls in
    (B- for the span's first such word, I- for the later ones), else it is "O"."""
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    tags: list[str] = []
    previous: Span | None = None
    for word in words:
        inside = next((s for s in ordered if s.start <= word.start < s.end), None)
        if inside is None:
            tags.append(OUTSIDE)
        else:
            tags.append(f"{'I' if inside is previous else 'B'}-{inside.label}")
        previous = inside
    return tags


@dataclass(frozen=True)
class Decoded:
    spans: list[Span]
    complete: float


def decode(words: Sequence[Word], probabilities: np.ndarray, tags: Sequence[str]) -> Decoded:
    """The spans (with confidences) and the completeness confidence of one text from its
    words' tag probabilities [len(words), len(tags)] (see the module docstring)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (len(words), len(tags)):
        raise ValueError(
            f"probabilities have shape {probs.shape}, expected {(len(words), len(tags))}"
        )
    index = {tag: j for j, tag in enumerate(tags)}
    chosen = [tags[j] for j in probs.argmax(axis=1)] if len(words) else []
    runs: list[tuple[int, int, str]] = []  # first word, last word (inclusive), label
    for w, tag in enumerate(chosen):
        if tag == OUTSIDE:
            continue
        label = tag[2:]
        if tag.startswith("I-") and runs and runs[-1][1] == w - 1 and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], w, label)
        else:
            runs.append((w, w, label))
    spans: list[Span] = []
    covered = np.zeros(len(words), dtype=bool)
    for first, last, label in runs:
        confidence = probs[first, index[f"B-{label}"]]
        for w in range(first + 1, last + 1):
            confidence *= probs[w, index[f"I-{label}"]]
        if last + 1 < len(words):
            confidence *= 1.0 - probs[last + 1, index[f"I-{label}"]]
        covered[first : last + 1] = True
        spans.append(
            Span(
                start=words[first].start,
                end=words[last].end,
                label=label,
                confidence=float(min(max(confidence, 0.0), 1.0)),
            )
        )
    outside = probs[~covered, index[OUTSIDE]]
    complete = float(min(max(outside.min(), 0.0), 1.0)) if len(outside) else 1.0
    return Decoded(spans, complete)
