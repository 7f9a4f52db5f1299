"""Gold items: items whose answer is known, mixed into people's work as checks.

Decisions (docs/review.md):
- A gold task is blind, like the router's spot checks, and looks like one (same reason and
  priority, an item id of the same shape): gold accuracy measures whether a person labels
  correctly *without* the model, which is what over-reliance erodes. Showing a made-up
  suggestion would put a lie on screen and would reward following it when it is right.
- Each person gets a gold item at most once, so answers cannot be remembered; the order is
  a stable shuffle per person.
- A gold answer is recorded and scored, never published as a label: the platform already
  knows the answer, and a check must not enter the training data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from mitl_contracts.datasets import Dataset
from mitl_contracts.events import MAX_TEXT_CHARS, MAX_VECTOR_DIM, ItemContent, Queue
from mitl_contracts.spans import (
    MAX_SPAN_LABEL_CHARS,
    MAX_SPANS,
    span_fault,
    spans_key,
    spans_of_key,
    trimmed,
)
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mitl_review.core.errors import Unprocessable
from mitl_review.core.task import Task

MAX_GOLD_PER_UPLOAD = 1000
# What the router says of a spot check, and the priority it gives one: a gold task must not
# stand out from the blind tasks around it.
GOLD_REASON = "spot check of an auto-accepted label"
GOLD_PRIORITY = 0.5
# A span dataset's gold label is a span set key: up to MAX_SPANS spans of "start:end:label|".
MAX_GOLD_LABEL_CHARS = MAX_SPANS * (2 * len(str(MAX_TEXT_CHARS)) + MAX_SPAN_LABEL_CHARS + 3)


class GoldItemIn(BaseModel):
    """One gold item as an admin uploads it: the item's content (as ingest takes it) and its
    known label. A span dataset's label is the key of the item's span set, '' for "no entity"
    (an empty label fails every other dataset's label set check, by name)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: str = Field(min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    vector: list[float] | None = Field(default=None, max_length=MAX_VECTOR_DIM)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)
    label: str = Field(max_length=MAX_GOLD_LABEL_CHARS)

    @model_validator(mode="after")
    def _valid_content(self) -> GoldItemIn:
        _ = self.content
        return self

    @property
    def content(self) -> ItemContent:
        return ItemContent(text=self.text, vector=self.vector, metadata=self.metadata)


class GoldUpload(BaseModel):
    """Body of POST /v1/gold/{dataset}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[GoldItemIn] = Field(min_length=1, max_length=MAX_GOLD_PER_UPLOAD)


@dataclass(frozen=True)
class GoldItem:
    gold_id: str
    dataset: str
    external_id: str
    content: ItemContent
    label: str


def gold_id_for(dataset: str, external_id: str) -> str:
    """Derived like ingest's item ids, so a gold task's item id looks like any other."""
    return hashlib.sha256(f"gold\x00{dataset}\x00{external_id}".encode()).hexdigest()[:32]


def gold_task_id(gold_id: str, user: str) -> str:
    return hashlib.sha256(f"gold-task\x00{gold_id}\x00{user}".encode()).hexdigest()[:32]


def check_upload(dataset: Dataset, upload: GoldUpload) -> list[GoldItem]:
    """The upload's items, or Unprocessable naming every item that does not fit `dataset`:
    an upload is stored whole or not at all."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(upload.items):
        where = f"item {index} ({item.external_id!r})"
        if item.external_id in seen:
            problems.append(f"{where}: same external_id as item {seen[item.external_id]}")
        seen.setdefault(item.external_id, index)
        if dataset.task == "spans":
            problem = _span_label_problem(dataset, item)
            if problem:
                problems.append(f"{where}: {problem}")
        elif item.label not in dataset.labels:
            problems.append(
                f"{where}: label {item.label!r} is not in the label set of dataset "
                f"{dataset.name!r}: {list(dataset.labels)}"
            )
        try:
            dataset.check_content(item.content)
        except ValueError as error:
            problems.append(f"{where}: {error}")
    if problems:
        raise Unprocessable("; ".join(problems))
    return [
        GoldItem(
            gold_id=gold_id_for(dataset.name, item.external_id),
            dataset=dataset.name,
            external_id=item.external_id,
            content=item.content,
            label=item.label,
        )
        for item in upload.items
    ]


def _span_label_problem(dataset: Dataset, item: GoldItemIn) -> str | None:
    """What is wrong with a span dataset's gold label, the key of its spans
    (mitl_contracts.spans.spans_key), if anything. '' is the empty span set: the known
    answer is that the text has no entity."""
    try:
        spans = spans_of_key(item.label)
    except ValueError as error:
        return f"label {item.label!r}: {error}"
    if (fault := span_fault(spans, item.text or "", dataset)) is not None:
        return f"label {item.label!r}: {fault}"
    try:
        tight = spans_key(trimmed(spans, item.text or ""))
    except ValueError as error:
        return f"label {item.label!r}: {error}"
    key = spans_key(spans)
    if tight != key:
        # A known answer is compared with people's spans, which leave edge whitespace out.
        return f"label {item.label!r} has whitespace at a span's edge; write it as {tight!r}"
    if key != item.label:
        return f"label {item.label!r} is not in order; write it as {key!r}"
    return None


def serve_gold(rate: float, draw: float) -> bool:
    """Whether a claim draws a gold task, `draw` being uniform in [0, 1)."""
    return draw < rate


def gold_task(
    item: GoldItem,
    user: str,
    queue: Queue,
    labels: tuple[str, ...],
    now: datetime,
    span_task: bool = False,
    allow_overlap: bool = False,
) -> Task:
    """`user`'s copy of gold `item`, blind, in `queue`. The model output fields are neutral
    (no suggestion, uniform probabilities) because nothing shows them. A span dataset's gold
    task is a span task: the person marks the spans, scored against the gold key."""
    return Task(
        task_id=gold_task_id(item.gold_id, user),
        review_event_id=None,
        dataset=item.dataset,
        item_id=item.gold_id,
        batch_id="",
        decision_event_id="",
        requested_queue=queue,
        queue=queue,
        priority=GOLD_PRIORITY,
        reason=GOLD_REASON,
        content=item.content,
        labels=labels,
        probabilities=tuple(1.0 / len(labels) for _ in labels),
        suggested_label="",
        confidence=0.0,
        hide_suggestion=True,
        model_version="",
        policy_version="",
        requested_at=now,
        kind="gold",
        gold_id=item.gold_id,
        assignee=user,
        last_requested_at=now,
        span_task=span_task,
        allow_overlap=allow_overlap,
    )
