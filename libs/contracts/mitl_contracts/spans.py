"""Entity spans: what a span-task (NER) item's prediction and label are made of.

A span is a half-open range of character offsets into the item's text, `[start, end)`, with
an entity label. A model's span carries its confidence; a person's span has none. An item's
label is the full set of its spans (possibly empty: "no entity here"). Its `label` string on
the events is `spans_key(spans)`, so that code comparing two labels as strings (overrides,
agreement, exports) compares span sets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Between the spans of a span set's key ("0:5:PER|10:16:LOC"); an empty set's key is "".
SPAN_SEPARATOR = "|"
MAX_SPANS = 200
MAX_SPAN_LABEL_CHARS = 100


class Span(BaseModel):
    """One entity: characters `[start, end)` of the item's text, its label and (a model's
    span only) its confidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=1)
    label: str = Field(min_length=1, max_length=MAX_SPAN_LABEL_CHARS)
    confidence: float | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> Span:
        if self.end <= self.start:
            raise ValueError(f"span [{self.start}, {self.end}) is empty or reversed")
        if self.confidence is not None and not (
            math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0
        ):
            raise ValueError(f"span [{self.start}, {self.end}) confidence is not within [0, 1]")
        if ":" in self.label or SPAN_SEPARATOR in self.label:
            raise ValueError(f"span label {self.label!r} may not contain ':' or '|'")
        return self

    @property
    def key(self) -> str:
        return f"{self.start}:{self.end}:{self.label}"

    @property
    def offsets(self) -> tuple[int, int]:
        return self.start, self.end


def ordered(spans: Iterable[Span]) -> list[Span]:
    """`spans` by start, then end, then label."""
    return sorted(spans, key=lambda s: (s.start, s.end, s.label))


def spans_key(spans: Iterable[Span]) -> str:
    """The `label` string of a span set: each span's `start:end:label`, in order, joined by
    '|' ('' for no span). Confidences do not count: a person's confirmed copy of a model's
    spans has the model's key."""
    return SPAN_SEPARATOR.join(dict.fromkeys(s.key for s in ordered(spans)))


def check_spans(
    spans: Sequence[Span],
    *,
    text_length: int | None = None,
    labels: Sequence[str] | None = None,
    allow_overlap: bool = False,
) -> None:
    """Raise ValueError naming the first fault: more than MAX_SPANS spans, a span that runs
    past the text's end, a label not in `labels`, the same span twice, or (unless
    `allow_overlap`) two spans that overlap."""
    if len(spans) > MAX_SPANS:
        raise ValueError(f"{len(spans)} spans; at most {MAX_SPANS} per item")
    for span in spans:
        if text_length is not None and span.end > text_length:
            raise ValueError(
                f"span [{span.start}, {span.end}) runs outside the text ({text_length} characters)"
            )
        if labels is not None and span.label not in labels:
            raise ValueError(
                f"span [{span.start}, {span.end}) has label {span.label!r}, "
                f"not one of the dataset's labels"
            )
    seen: set[tuple[int, int, str]] = set()
    previous: Span | None = None
    for span in ordered(spans):
        ident = (span.start, span.end, span.label)
        if ident in seen:
            raise ValueError(f"span [{span.start}, {span.end}) {span.label!r} is given twice")
        seen.add(ident)
        if not allow_overlap and previous is not None and span.start < previous.end:
            raise ValueError(
                f"spans [{previous.start}, {previous.end}) and [{span.start}, {span.end}) "
                "overlap; the dataset does not allow overlapping spans"
            )
        previous = span if previous is None or span.end > previous.end else previous


def trimmed(spans: Sequence[Span], text: str) -> list[Span]:
    """`spans` with whitespace at either edge left out: [0, 13) over "Barack Obama visited"
    is [0, 12). A person or a client tool that marks a word with the space after it means the
    word; kept as sent, the span would count as a different entity from the model's (an
    override in the audit log, a disagreement in agreement figures). A span that runs outside
    `text` is left as it is (check_spans names that); one that covers only whitespace raises
    ValueError."""
    out = []
    for span in spans:
        if span.end > len(text):
            out.append(span)
            continue
        start, end = span.start, span.end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            raise ValueError(f"span [{span.start}, {span.end}) covers only whitespace")
        changed = (start, end) != span.offsets
        out.append(span.model_copy(update={"start": start, "end": end}) if changed else span)
    return out


class SpanRules(Protocol):
    """Whose labels and overlap rule a span set must follow: a dataset, or a review task
    (which keeps its dataset's as they were when it was asked)."""

    @property
    def labels(self) -> Sequence[str]: ...

    @property
    def allow_overlap(self) -> bool: ...


def span_fault(spans: Sequence[Span], text: str | None, rules: SpanRules) -> str | None:
    """What is wrong with `spans` on `text` (None: no text to stay inside) under the labels
    and overlap rule of `rules`: check_spans's message, or None when they fit. For callers
    that word the fault as their own refusal."""
    try:
        check_spans(
            spans,
            text_length=None if text is None else len(text),
            labels=rules.labels,
            allow_overlap=rules.allow_overlap,
        )
    except ValueError as error:
        return str(error)
    return None


class SpanDiff(BaseModel):
    """What a person changed in the model's suggested spans: spans added (offsets the model
    did not suggest), removed (suggested offsets the person dropped) and relabelled (the same
    offsets under another label, given as the person's span)."""

    model_config = ConfigDict(frozen=True)

    added: list[Span] = Field(default_factory=list)
    removed: list[Span] = Field(default_factory=list)
    relabelled: list[Span] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.relabelled)


def span_diff(suggested: Sequence[Span], final: Sequence[Span]) -> SpanDiff:
    """The changes that turn `suggested` into `final`, matched by offsets."""
    before = {s.offsets: s for s in suggested}
    after = {s.offsets: s for s in final}
    added = [s for off, s in after.items() if off not in before]
    removed = [s for off, s in before.items() if off not in after]
    relabelled = [s for off, s in after.items() if off in before and before[off].label != s.label]
    return SpanDiff(added=ordered(added), removed=ordered(removed), relabelled=ordered(relabelled))


def least_confidence(spans: Sequence[Span], complete: float | None) -> float:
    """An item's confidence under a span model: its least certain span's confidence, and
    the confidence that no entity is missing (`complete`); 1.0 when there is neither."""
    values = [s.confidence for s in spans if s.confidence is not None]
    if complete is not None:
        values.append(complete)
    return min(values, default=1.0)


def spans_of_key(key: str) -> list[Span]:
    """The spans a span set's key names (the inverse of `spans_key`, without confidences);
    raises ValueError naming a part that is not `start:end:label` or not a valid span."""
    spans: list[Span] = []
    for part in key.split(SPAN_SEPARATOR) if key else []:
        start, _, rest = part.partition(":")
        end, _, label = rest.partition(":")
        try:
            spans.append(Span(start=int(start), end=int(end), label=label))
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise ValueError(f"span key part {part!r} is not a span: {reason}") from None
        except ValueError:
            raise ValueError(f"span key part {part!r} is not a span (start:end:label)") from None
    return spans
