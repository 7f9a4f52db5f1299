"""A review task as the core sees it: what was asked, who holds it, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from mitl_contracts.events import ItemContent, Queue
from mitl_contracts.spans import Span

TaskStatus = Literal["open", "done"]
# A review task answers a ReviewRequested and publishes a label; a gold task is one person's
# copy of a gold item, whose answer is only scored.
TaskKind = Literal["review", "gold"]
# Every dataset has one queue of each kind.
QUEUES: tuple[Queue, ...] = get_args(Queue)


@dataclass(frozen=True)
class Completion:
    """The decision that closed a task; `action` is what the person submitted."""

    user: str
    role: str
    action: str
    label: str
    # None for gold tasks: their answers are checks, not labels.
    label_event_id: str | None
    completed_at: datetime
    # The dataset's guideline version when the task was completed (None: it had none).
    guideline_version: int | None = None
    # A span task: the person's full span set (`label` is its key); None for other tasks.
    spans: tuple[Span, ...] | None = None


@dataclass(frozen=True)
class Task:
    """Gold tasks have no model output: `suggested_label` is empty and `hide_suggestion` true."""

    task_id: str
    # The latest request this task answers (an update replaces it); None for gold tasks.
    review_event_id: str | None
    dataset: str
    item_id: str
    batch_id: str
    decision_event_id: str
    requested_queue: Queue
    queue: Queue
    priority: float
    reason: str
    content: ItemContent
    labels: tuple[str, ...]
    probabilities: tuple[float, ...]
    suggested_label: str
    confidence: float
    hide_suggestion: bool
    model_version: str
    policy_version: str
    requested_at: datetime
    status: TaskStatus = "open"
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    skipped_by: tuple[str, ...] = ()
    escalated_by: str | None = None
    escalation_comment: str | None = None
    completion: Completion | None = None
    kind: TaskKind = "review"
    gold_id: str | None = None
    assignee: str | None = None
    # 1 when created; each update by a newer request for the item adds one.
    revision: int = 1
    # When the latest applied request was made (requested_at stays the first one's, so an
    # updated task keeps its place in the queue).
    last_requested_at: datetime | None = None
    # An item of the overlap sample (mitl_policy.overlap) is one task per annotator it needs,
    # all with the first one's id as `overlap_group`; `overlap_copy` numbers them from 0. No
    # person labels two tasks of one group. None and 0 for every other task.
    overlap_group: str | None = None
    overlap_copy: int = 0
    # A multi-label task: the person labels a set; `probabilities` are each label's own, and
    # `suggested_label` (like a completion's `label`) is the set's key (label_set_key).
    multilabel: bool = False
    # A span task (a dataset with task "spans"): the person labels the set of entity spans in
    # the text; `suggested_label` (like a completion's `label`) is the set's key
    # (mitl_contracts.spans.spans_key), `suggested_spans` the model's spans with their
    # confidences and `spans_complete` its confidence that none is missing. `allow_overlap`
    # is the dataset's rule when the task was asked.
    span_task: bool = False
    suggested_spans: tuple[Span, ...] = ()
    spans_complete: float | None = None
    allow_overlap: bool = False
