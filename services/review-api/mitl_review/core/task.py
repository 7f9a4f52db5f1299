"""A review task as the core sees it: what was asked, who holds it, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from mitl_contracts.events import ItemContent, Queue

TaskStatus = Literal["open", "done"]
# Every dataset has one queue of each kind.
QUEUES: tuple[Queue, ...] = get_args(Queue)


@dataclass(frozen=True)
class Completion:
    """The decision that closed a task; `action` is what the person submitted."""

    user: str
    role: str
    action: str
    label: str
    label_event_id: str
    completed_at: datetime


@dataclass(frozen=True)
class Task:
    task_id: str
    review_event_id: str
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
