"""Figures of a span (NER) dataset's human labels: how often people changed the model's
suggested spans, and what they changed, counted per entity. Pure: no I/O (the counts come
summed from Postgres, store/reports.py).

`verified` span sets by people, of which `overrides` differ from the suggestion; over their
entities: `suggested` by the model, `final` in the people's sets, `added`, `removed`,
`relabelled` (mitl_contracts.spans.span_diff). A suggested entity a person kept as it was
counts as right: entity-level `precision` is kept / suggested and `recall` kept / final.
None where a denominator is zero.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SpanCount(BaseModel):
    """The window's human span labels, summed."""

    verified: int
    overrides: int
    suggested: int
    final: int
    added: int
    removed: int
    relabelled: int


class SpanFigures(SpanCount):
    kept: int = Field(description="suggested entities a person kept unchanged")
    override_rate: float | None = Field(default=None, description="overrides / verified")
    precision: float | None = Field(
        default=None, description="entity level: kept / suggested entities"
    )
    recall: float | None = Field(default=None, description="entity level: kept / final entities")


def span_figures(count: SpanCount) -> SpanFigures | None:
    """The figures, or None when the window has no human span label."""
    if count.verified == 0:
        return None
    kept = count.suggested - count.removed - count.relabelled
    return SpanFigures(
        **count.model_dump(),
        kept=kept,
        override_rate=count.overrides / count.verified,
        precision=kept / count.suggested if count.suggested else None,
        recall=kept / count.final if count.final else None,
    )
