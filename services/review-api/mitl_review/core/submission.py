"""What a person's submission does to a task, decided without I/O.

The rules, in the order they are checked (so that the most basic problem is the one reported):
admins do not label (403); a repeat of the submission that already settled the task answers
the same again (`Replay`); anything else on a done task is a conflict (409); only annotators
escalate (403); every other action needs the caller's live lease (409); a submission naming
the task revision it was decided on must name the current one (409: a newer request changed
the suggestion meanwhile); then the label must fit (422). `confirm` takes the model's
suggestion, so it is refused on blind tasks, where the suggestion was never shown; `correct`
takes any label of the dataset's label set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mitl_contracts.api import SubmitAction
from mitl_contracts.events import LabelAction, LabelSource, label_set_key
from mitl_contracts.spans import MAX_SPANS, Span, ordered, span_fault, spans_key, trimmed
from pydantic import BaseModel, ConfigDict, Field

from mitl_review.core.auth import User, check_can_claim, check_dataset
from mitl_review.core.errors import Conflict, Forbidden, Unprocessable
from mitl_review.core.leases import require_lease
from mitl_review.core.task import Task

MAX_TIME_SPENT_MS = 24 * 3600 * 1000


class Submission(BaseModel):
    """Body of POST /v1/tasks/{task_id}/submit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: SubmitAction
    label: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)
    time_spent_ms: int | None = Field(default=None, ge=0, le=MAX_TIME_SPENT_MS)
    # The task's `revision` as the person saw it; without it the task as it stands is labeled.
    revision: int | None = Field(default=None, ge=1)
    # Multi-label tasks: the label set `correct` gives the item (may be empty).
    labels: list[str] | None = Field(default=None, max_length=200)
    # Span tasks: the item's full span set, each {start, end, label} (may be empty: no
    # entity); a span's confidence, if sent, is dropped (a person's span has none).
    spans: list[Span] | None = Field(default=None, max_length=MAX_SPANS)


@dataclass(frozen=True)
class Complete:
    """Close the task with `label`; the label event says `source` and `label_action`. A span
    task's `label` is the key of `spans`, the person's span set."""

    label: str
    source: LabelSource
    label_action: LabelAction
    spans: tuple[Span, ...] | None = None


@dataclass(frozen=True)
class Escalate:
    comment: str | None


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Replay:
    """The same submission already settled this task: answer as before, change nothing."""


Outcome = Complete | Escalate | Skip | Replay


def decide(task: Task, user: User, submission: Submission, now: datetime) -> Outcome:
    """What `submission` by `user` does to `task` at `now`; raises a ReviewError if nothing."""
    if user.role == "admin":
        raise Forbidden("admins manage users and queues; labeling takes an annotator or expert")
    if task.span_task and submission.spans is not None:
        # Before anything compares them: a replay of the same spans is still a replay.
        try:
            tight = trimmed(submission.spans, task.content.text or "")
        except ValueError as error:
            raise Unprocessable(f"spans: {error} (dataset {task.dataset!r})") from None
        submission = submission.model_copy(update={"spans": tight})
    if _is_replay(task, user, submission):
        return Replay()
    if task.completion is not None:
        done = task.completion
        if done.user == user.id:
            raise Conflict(
                f"you already completed task {task.task_id} with {done.action} {done.label!r}; "
                "a task is labeled once"
            )
        raise Conflict(f"task {task.task_id} was already completed by someone else")
    if submission.action == "escalate" and user.role != "annotator":
        raise Forbidden("only annotators escalate; an expert resolves with confirm or correct")
    require_lease(task, user.id, now)
    check_can_claim(user, task.queue)
    check_dataset(user, task.dataset)
    if submission.revision is not None and submission.revision != task.revision:
        raise Conflict(
            f"task {task.task_id} changed after you saw it (revision {submission.revision}, "
            f"now {task.revision}): the model re-scored the item; claim it again to see it"
        )
    if submission.action == "escalate":
        return Escalate(submission.comment)
    if submission.action == "skip":
        return Skip()
    spans = _chosen_spans(task, submission) if task.span_task else None
    label = spans_key(spans) if spans is not None else _chosen_label(task, submission)
    source: LabelSource = "expert" if user.role == "expert" else "annotator"
    action: LabelAction
    if task.queue == "expert":
        action = "resolve"
    else:
        # What the label event reports is what happened: agreeing with the model is a
        # confirmation whichever button produced it.
        action = "confirm" if label == task.suggested_label else "correct"
    return Complete(label=label, source=source, label_action=action, spans=spans)


def _chosen_label(task: Task, submission: Submission) -> str:
    if task.multilabel:
        return _chosen_label_set(task, submission)
    if submission.spans is not None:
        raise Unprocessable(f"task {task.task_id} takes no spans; 'spans' is for span tasks")
    if submission.labels is not None:
        raise Unprocessable(
            f"task {task.task_id} takes one label ('label'); 'labels' is for multi-label tasks"
        )
    if submission.action == "confirm":
        if task.hide_suggestion:
            raise Unprocessable(
                f"task {task.task_id} is blind (the model's suggestion is hidden), so there is "
                f"nothing to confirm; submit 'correct' with one of {list(task.labels)}"
            )
        if submission.label is not None and submission.label != task.suggested_label:
            raise Unprocessable(
                f"'confirm' takes the suggestion {task.suggested_label!r}; to label "
                f"{submission.label!r} submit 'correct'"
            )
        return task.suggested_label
    if submission.label is None:
        raise Unprocessable(f"'correct' needs a label, one of {list(task.labels)}")
    if submission.label not in task.labels:
        raise Unprocessable(
            f"label {submission.label!r} is not in the label set of dataset {task.dataset!r}: "
            f"{list(task.labels)}"
        )
    return submission.label


def _chosen_label_set(task: Task, submission: Submission) -> str:
    """A multi-label task's answer: the key of the label set (label_set_key)."""
    if submission.action == "confirm":
        if task.hide_suggestion:
            raise Unprocessable(
                f"task {task.task_id} is blind (the model's suggestion is hidden), so there is "
                f"nothing to confirm; submit 'correct' with 'labels', a subset of "
                f"{list(task.labels)}"
            )
        if submission.labels is not None and label_set_key(submission.labels) != (
            task.suggested_label
        ):
            raise Unprocessable(
                f"'confirm' takes the suggested label set {task.suggested_label!r}; to label "
                f"{submission.labels} submit 'correct'"
            )
        return task.suggested_label
    if submission.labels is None:
        raise Unprocessable(
            f"task {task.task_id} is multi-label: 'correct' needs 'labels', a subset of "
            f"{list(task.labels)} (an empty list for none)"
        )
    unknown = [label for label in submission.labels if label not in task.labels]
    if unknown:
        raise Unprocessable(
            f"labels {unknown} are not in the label set of dataset {task.dataset!r}: "
            f"{list(task.labels)}"
        )
    if len(set(submission.labels)) != len(submission.labels):
        raise Unprocessable("'labels' names a label more than once")
    return label_set_key(submission.labels)


def _chosen_spans(task: Task, submission: Submission) -> tuple[Span, ...]:
    """A span task's answer: the person's span set (without confidences), checked against
    the text and the dataset (inside the text, its labels, overlap only where allowed)."""
    if submission.label is not None or submission.labels is not None:
        raise Unprocessable(
            f"task {task.task_id} is a span task: submit 'spans' (each start, end, label), "
            "not 'label' or 'labels'"
        )
    if submission.action == "confirm":
        if task.hide_suggestion:
            raise Unprocessable(
                f"task {task.task_id} is blind (the model's suggestion is hidden), so there is "
                "nothing to confirm; submit 'correct' with 'spans'"
            )
        if submission.spans is not None and spans_key(submission.spans) != task.suggested_label:
            raise Unprocessable(
                f"'confirm' takes the suggested spans {task.suggested_label!r}; to label "
                f"{spans_key(submission.spans)!r} submit 'correct'"
            )
        return tuple(_plain(span) for span in task.suggested_spans)
    if submission.spans is None:
        raise Unprocessable(
            f"task {task.task_id} is a span task: 'correct' needs 'spans', the full span set "
            f"(an empty list for none), with labels of {list(task.labels)}"
        )
    if (fault := span_fault(submission.spans, task.content.text or "", task)) is not None:
        raise Unprocessable(f"spans: {fault} (dataset {task.dataset!r})")
    return tuple(_plain(span) for span in ordered(submission.spans))


def _plain(span: Span) -> Span:
    return Span(start=span.start, end=span.end, label=span.label)


def _is_replay(task: Task, user: User, submission: Submission) -> bool:
    if submission.action == "escalate":
        return task.escalated_by == user.id
    if submission.action == "skip":
        return user.id in task.skipped_by and task.lease_holder != user.id
    done = task.completion
    if done is None or done.user != user.id or done.action != submission.action:
        return False
    if task.span_task:
        given = None if submission.spans is None else spans_key(submission.spans)
        if done.action == "confirm":
            return given in (None, done.label)
        return given == done.label
    if task.multilabel:
        given = None if submission.labels is None else label_set_key(submission.labels)
        if done.action == "confirm":
            return given in (None, done.label)
        return given == done.label
    if done.action == "confirm":
        return submission.label in (None, done.label)
    return submission.label == done.label
