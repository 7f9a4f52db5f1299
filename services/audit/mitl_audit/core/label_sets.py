"""Per-label figures of a multi-label dataset's human labels: how often the model's suggested
set and the person's set agree on each label. Pure: no I/O (the counts come grouped from
Postgres, store/reports.py).

For each label: `verified` label sets by people, how many had the label in the model's set
(`model_in`) and in the person's (`person_in`), how many times a person added it or removed
it; from those the share of this label's in/out decisions the person kept
(`decision_accuracy`) and the precision of the model's "in" (`precision_in`). None where a
denominator is zero.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field


class LabelSetCount(BaseModel):
    """One label's counts over the window's human multi-label labels."""

    label: str
    verified: int
    model_in: int
    person_in: int
    added: int
    removed: int


class LabelFigures(BaseModel):
    verified: int
    model_in: int
    person_in: int
    added: int
    removed: int
    decision_accuracy: float | None = Field(
        default=None, description="1 - (added + removed) / verified"
    )
    precision_in: float | None = Field(default=None, description="(model_in - removed) / model_in")


def per_label(counts: Iterable[LabelSetCount]) -> dict[str, LabelFigures] | None:
    """Figures per label, in label order; None when there are no multi-label human labels."""
    out = {
        c.label: LabelFigures(
            verified=c.verified,
            model_in=c.model_in,
            person_in=c.person_in,
            added=c.added,
            removed=c.removed,
            decision_accuracy=1 - (c.added + c.removed) / c.verified if c.verified else None,
            precision_in=(c.model_in - c.removed) / c.model_in if c.model_in else None,
        )
        for c in sorted(counts, key=lambda c: c.label)
    }
    return out or None
