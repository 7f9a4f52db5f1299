"""Entity-level scores of predicted span sets against gold ones (the usual NER measure: a
predicted span is right when a gold span has the same offsets and label)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mitl_contracts.spans import Span


@dataclass(frozen=True)
class SpanScores:
    """Counts over a corpus: spans right, spans predicted, gold spans."""

    correct: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        """Share of predicted spans that are right (1.0 when nothing was predicted)."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of gold spans found (1.0 when there is none)."""
        return self.correct / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def matched(gold: Sequence[Span], predicted: Sequence[Span]) -> int:
    """How many of `predicted` have a gold span with the same offsets and label."""
    keys = {(s.start, s.end, s.label) for s in gold}
    return sum((s.start, s.end, s.label) in keys for s in predicted)


def span_scores(gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]) -> SpanScores:
    """Entity-level counts over items (`gold[i]` and `predicted[i]` are item i's span sets)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold span sets but {len(predicted)} predicted")
    return SpanScores(
        correct=sum(matched(g, p) for g, p in zip(gold, predicted, strict=True)),
        predicted=sum(len(p) for p in predicted),
        gold=sum(len(g) for g in gold),
    )
