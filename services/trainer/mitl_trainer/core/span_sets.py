"""Span datasets' examples: a label is a span set's key (mitl_contracts.spans.spans_key), read
back into spans to train and evaluate a tagger, and counted per entity label. Pure: no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from mitl_contracts.spans import Span, spans_of_key

from mitl_trainer.core.training_set import Example


def span_sets(examples: Iterable[Example]) -> list[list[Span]]:
    """Each example's span set (ValueError for a label that is not a span set's key)."""
    return [spans_of_key(e.label) for e in examples]


def entity_counts(examples: Iterable[Example]) -> dict[str, int]:
    """How many entities of each label the examples hold."""
    counts = Counter(s.label for spans in span_sets(examples) for s in spans)
    return dict(sorted(counts.items()))
