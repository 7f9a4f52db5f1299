"""From a ReviewRequested event to a task: check it against its dataset, give it a stable id.

The task id is derived from the event id, so the same event delivered twice is the same task.
An item of the dataset's overlap sample (mitl_policy.overlap) becomes one task per annotator
it needs: the first has the ordinary id, the others ids derived from it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

from mitl_contracts.datasets import Catalog, Dataset
from mitl_contracts.events import (
    ReviewRequested,
    check_distribution,
    check_label_probabilities,
    label_set_key,
)
from mitl_contracts.spans import Span, ordered, span_fault, spans_key
from mitl_policy.overlap import annotators_for

from mitl_review.core.task import Task


class Rejected(ValueError):
    """The event can never become a task; the message names the problem."""


def task_id_for(review_event_id: str) -> str:
    return hashlib.sha256(f"review-task\x00{review_event_id}".encode()).hexdigest()[:32]


def copy_task_id(task_id: str, copy: int) -> str:
    """The id of copy `copy` (1, 2, ...) of the overlap task `task_id`."""
    return hashlib.sha256(f"review-task-copy\x00{task_id}\x00{copy}".encode()).hexdigest()[:32]


def overlap_copies(task: Task, annotators: int) -> list[Task]:
    """`task` alone when one person labels it; else `annotators` tasks of one overlap group,
    copy 0 keeping `task`'s id. Each copy is claimed, leased and completed like any task and
    publishes its own label; the claim never gives a person a second copy of a group."""
    if annotators <= 1:
        return [task]
    return [
        replace(
            task,
            task_id=task.task_id if copy == 0 else copy_task_id(task.task_id, copy),
            overlap_group=task.task_id,
            overlap_copy=copy,
        )
        for copy in range(annotators)
    ]


def new_tasks(event: ReviewRequested, catalog: Catalog) -> list[Task]:
    """The open tasks for `event`: one, or one per annotator for an item of the dataset's
    overlap sample. Raises as `new_task`."""
    task = new_task(event, catalog)
    policy = catalog.get(event.dataset).policy
    return overlap_copies(task, annotators_for(policy, event.dataset, event.item_id, event.queue))


def new_task(event: ReviewRequested, catalog: Catalog) -> Task:
    """The open task for `event`, its labels and probabilities in the dataset's label order.
    Raises UnknownDataset or Rejected if the event cannot be labeled with that dataset."""
    dataset = catalog.get(event.dataset)
    try:
        check_distribution(event.labels, event.probabilities)
    except ValueError as error:
        raise Rejected(f"model output is not a distribution: {error}") from None
    if sorted(event.labels) != sorted(dataset.labels):
        raise Rejected(
            f"labels {event.labels} are not the label set of dataset {dataset.name!r}: "
            f"{dataset.labels}"
        )
    multilabel = dataset.task == "multilabel"
    span_task = dataset.task == "spans"
    suggested_spans: tuple[Span, ...] = ()
    if multilabel:
        per_label = multilabel_probabilities(event, dataset)
    elif span_task:
        suggested_spans = span_suggestion(event, dataset)
    elif event.suggested_spans is not None:
        raise Rejected(f"dataset {dataset.name!r} is {dataset.task}; the request has spans")
    elif event.suggested_label not in dataset.labels:
        raise Rejected(
            f"suggested label {event.suggested_label!r} is not in the label set of dataset "
            f"{dataset.name!r}: {dataset.labels}"
        )
    if not math.isfinite(event.priority):
        raise Rejected(f"priority {event.priority} is not a finite number")
    if not 0.0 <= event.confidence <= 1.0:
        raise Rejected(f"confidence {event.confidence} is not within [0, 1]")
    by_label = dict(zip(event.labels, event.probabilities, strict=True))
    if multilabel:
        by_label = per_label
    return Task(
        task_id=task_id_for(event.event_id),
        review_event_id=event.event_id,
        dataset=event.dataset,
        item_id=event.item_id,
        batch_id=event.batch_id,
        decision_event_id=event.decision_event_id,
        requested_queue=event.queue,
        queue=event.queue,
        priority=event.priority,
        reason=event.reason,
        content=event.content,
        labels=tuple(dataset.labels),
        probabilities=tuple(by_label[label] for label in dataset.labels),
        suggested_label=event.suggested_label,
        confidence=event.confidence,
        hide_suggestion=event.hide_suggestion,
        model_version=event.model_version,
        policy_version=event.policy_version,
        requested_at=event.occurred_at,
        last_requested_at=event.occurred_at,
        multilabel=multilabel,
        span_task=span_task,
        suggested_spans=suggested_spans,
        spans_complete=event.spans_complete if span_task else None,
        allow_overlap=dataset.allow_overlap if span_task else False,
    )


def multilabel_probabilities(event: ReviewRequested, dataset: Dataset) -> dict[str, float]:
    """A multi-label request's per-label probabilities, checked: one for every label of the
    dataset, and a suggested label set of its labels whose key is `suggested_label`."""
    if event.label_probabilities is None:
        raise Rejected(
            f"dataset {dataset.name!r} is multi-label; the request has no label_probabilities"
        )
    try:
        check_label_probabilities(dataset.labels, event.label_probabilities)
    except ValueError as error:
        raise Rejected(str(error)) from None
    suggested = event.suggested_labels or []
    unknown = [label for label in suggested if label not in dataset.labels]
    if unknown:
        raise Rejected(
            f"suggested labels {unknown} are not in the label set of dataset "
            f"{dataset.name!r}: {dataset.labels}"
        )
    if event.suggested_labels is None or event.suggested_label != label_set_key(suggested):
        raise Rejected(
            f"suggested_label {event.suggested_label!r} is not the key of the suggested "
            f"label set {suggested}"
        )
    return dict(event.label_probabilities)


def span_suggestion(event: ReviewRequested, dataset: Dataset) -> tuple[Span, ...]:
    """A span request's suggested spans, checked against the dataset: inside the text, with
    its labels, not overlapping unless it allows it, with a confidence each, and their key
    as `suggested_label`."""
    if event.suggested_spans is None or event.spans_complete is None:
        raise Rejected(
            f"dataset {dataset.name!r} labels spans; the request needs suggested_spans and "
            "spans_complete"
        )
    text = event.content.text
    if text is None:
        raise Rejected(f"dataset {dataset.name!r} labels spans in text; the item has no text")
    if (fault := span_fault(event.suggested_spans, text, dataset)) is not None:
        raise Rejected(f"suggested spans: {fault}")
    if any(span.confidence is None for span in event.suggested_spans):
        raise Rejected("suggested spans: every suggested span carries its confidence")
    if event.suggested_label != spans_key(event.suggested_spans):
        raise Rejected(
            f"suggested_label {event.suggested_label!r} is not the key of the suggested "
            f"spans {spans_key(event.suggested_spans)!r}"
        )
    return tuple(ordered(event.suggested_spans))
