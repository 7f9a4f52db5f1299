"""A span set checked against an item's text and its dataset's span rules, for the review core.

A request's suggested spans (intake), a person's answer (submission) and a gold item's known
spans (gold) are each checked the same way: inside the text, with the dataset's labels, no
span twice, no overlap unless the dataset allows it (mitl_contracts.spans.check_spans). Each
caller words the fault as its own refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mitl_contracts.spans import Span, check_spans


class SpanRules(Protocol):
    """Whose labels and overlap rule a span set must follow: the dataset, or a task (which
    keeps the dataset's as they were when it was asked)."""

    @property
    def labels(self) -> Sequence[str]: ...

    @property
    def allow_overlap(self) -> bool: ...


def span_fault(spans: Sequence[Span], text: str, rules: SpanRules) -> str | None:
    """What is wrong with `spans` on `text` under `rules` (check_spans's message), or None."""
    try:
        check_spans(
            spans, text_length=len(text), labels=rules.labels, allow_overlap=rules.allow_overlap
        )
    except ValueError as error:
        return str(error)
    return None
