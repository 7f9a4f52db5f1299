"""HTTP request and response bodies that clients rely on (ingest, and the review API's task,
submission answer and datasets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mitl_contracts.events import InputKind, ItemContent, Queue
from mitl_contracts.spans import Span


class IngestRequest(BaseModel):
    """POST /v1/items: a batch of items for one dataset. Each item has the fields of
    `ItemRaw` (external_id, text or vector, metadata, optional client prediction); items are
    validated one by one so that one bad item does not reject the batch."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=200)
    batch_id: str | None = Field(default=None, min_length=1, max_length=100)
    items: list[dict[str, Any]] = Field(min_length=1)


class ItemOutcome(BaseModel):
    index: int
    external_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    item_id: str | None = None
    reason: str | None = None


class IngestResponse(BaseModel):
    dataset: str
    batch_id: str
    accepted: int
    duplicates: int
    rejected: int
    items: list[ItemOutcome]


class Suggestion(BaseModel):
    """The model's label for a review task, with its confidence and every label's probability."""

    label: str
    confidence: float
    probabilities: dict[str, float]
    # A span task: the suggested entity spans with their confidences (`label` is their key,
    # mitl_contracts.spans.spans_key) and the model's confidence that none is missing.
    spans: list[Span] | None = None
    spans_complete: float | None = None


class Escalation(BaseModel):
    """Who escalated a task to the expert queue, and why."""

    by: str
    comment: str | None


class TaskView(BaseModel):
    """A claimed task as a person sees it (the review API's claim answer). `suggestion` is
    null on blind tasks (spot checks and gold items look the same). `revision` goes up when a
    newer request for the item changes the suggestion; send it back with the submission."""

    task_id: str
    revision: int
    dataset: str
    item_id: str
    queue: Queue
    content: ItemContent
    labels: list[str]
    suggestion: Suggestion | None
    priority: float
    reason: str
    lease_expires_at: datetime | None
    escalation: Escalation | None = None
    # A multi-label task: the answer is a set of `labels` (submit `labels`); the suggestion's
    # `label` is then the set's key (labels joined by '|') and `probabilities` each label's own.
    multilabel: bool = False
    # A span task: the answer is the set of entity spans in `content.text` (submit `spans`,
    # each {start, end, label} with a label of `labels`); overlapping spans only if
    # `allow_overlap`.
    spans: bool = False
    allow_overlap: bool = False


SubmitAction = Literal["confirm", "correct", "escalate", "skip"]


class SubmitResult(BaseModel):
    """What a submission did (the review API's submit answer). Submitting the same thing again
    answers the same."""

    task_id: str
    status: Literal["done", "escalated", "skipped"]
    action: SubmitAction
    label: str | None = None
    label_event_id: str | None = None
    guideline_version: int | None = Field(
        default=None, description="The dataset's guideline version the label was made under"
    )


class DatasetInfo(BaseModel):
    """A dataset as the review API lists it: its name, what its items hold, its label set."""

    name: str
    input_kind: InputKind
    labels: list[str]
