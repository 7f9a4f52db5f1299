"""HTTP bodies of the review API (the request of a submission is the core's `Submission`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mitl_contracts import api
from mitl_contracts.datasets import MAX_GUIDELINE_MARKDOWN_CHARS, Dataset, LabelGuide
from mitl_contracts.events import ItemContent, Name, Queue
from pydantic import BaseModel, ConfigDict, Field

from mitl_review.core.auth import AccountStatus, Role
from mitl_review.core.guidelines import Changes, GuidelineSource
from mitl_review.core.task import Task


class TaskView(api.TaskView):
    """A claimed task as a person sees it (the fields are the contracts' `TaskView`, which the
    Python client reads too)."""

    @classmethod
    def of(cls, task: Task) -> TaskView:
        suggestion = None
        if not task.hide_suggestion:
            suggestion = api.Suggestion(
                label=task.suggested_label,
                confidence=task.confidence,
                probabilities=dict(zip(task.labels, task.probabilities, strict=True)),
                spans=list(task.suggested_spans) if task.span_task else None,
                spans_complete=task.spans_complete if task.span_task else None,
            )
        escalation = None
        if task.escalated_by is not None:
            escalation = api.Escalation(by=task.escalated_by, comment=task.escalation_comment)
        return cls(
            task_id=task.task_id,
            revision=task.revision,
            dataset=task.dataset,
            item_id=task.item_id,
            queue=task.queue,
            content=task.content,
            labels=list(task.labels),
            suggestion=suggestion,
            priority=task.priority,
            reason=task.reason,
            lease_expires_at=task.lease_expires_at,
            escalation=escalation,
            multilabel=task.multilabel,
            spans=task.span_task,
            allow_overlap=task.allow_overlap,
        )


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="The user's stable id")
    role: Role
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The name shown to people (default: `name`)",
    )
    datasets: list[Name] | None = Field(
        default=None,
        max_length=1000,
        description="The only datasets the user may see and claim (default: every dataset)",
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="The token expires after this many days"
    )


class UserCreated(BaseModel):
    name: str
    role: Role
    token_expires_at: datetime | None = None
    token: str = Field(description="Shown once; only its sha256 is stored.")


class UserView(BaseModel):
    """A user as an admin sees them (never a token)."""

    id: str = Field(description="The stable id: what tasks, labels and quality history record")
    display_name: str
    role: Role
    status: AccountStatus
    sso: bool = Field(description="Signs in through single sign-on (holds no token of ours)")
    token_expires_at: datetime | None
    datasets: list[str] | None = Field(
        description="The datasets assigned; null: every dataset (never assigned one)"
    )
    created_at: datetime


class Users(BaseModel):
    users: list[UserView]


class TokenRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="The new token expires after this many days"
    )


class TokenRotated(BaseModel):
    id: str
    token: str = Field(description="Shown once; only its sha256 is stored.")
    token_expires_at: datetime | None


class DatasetChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[Name] = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    id: str = Field(description="Your stable id: what your tasks and labels record")
    name: str = Field(description="Your display name")
    role: Role
    datasets: list[str] | None = Field(
        description="The datasets you are assigned; null: every dataset (never assigned one)"
    )
    done_today: int = Field(description="Tasks you completed since 00:00 UTC")
    confirmations: int = Field(description="Of those, how many agreed with the model")
    corrections: int = Field(description="Of those, how many chose another label")
    escalations: int = Field(description="Tasks you escalated since 00:00 UTC")
    done_total: int = Field(description="Tasks you completed, ever")


class QueueDepth(BaseModel):
    dataset: str
    queue: Queue
    depth: int = Field(description="Tasks waiting to be claimed")
    leased: int = Field(description="Tasks someone holds under a live lease")


class Queues(BaseModel):
    queues: list[QueueDepth]


class DatasetInfo(api.DatasetInfo):
    """A dataset the review API serves (the fields are the contracts' `DatasetInfo`)."""

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetInfo:
        return cls(name=dataset.name, input_kind=dataset.input_kind, labels=list(dataset.labels))


class Datasets(BaseModel):
    datasets: list[DatasetInfo]


class GoldStored(BaseModel):
    dataset: str
    created: int = Field(description="Gold items new to the dataset")
    updated: int = Field(description="Gold items whose content or known label changed")
    unchanged: int = Field(description="Gold items already stored as they are")
    total: int = Field(description="Gold items the dataset has now")


class GoldItemView(BaseModel):
    gold_id: str
    external_id: str
    content: ItemContent
    label: str


class GoldItems(BaseModel):
    dataset: str
    total: int
    items: list[GoldItemView]


class AnnotatorView(BaseModel):
    """One person's work in one dataset over the window; rates are null without samples."""

    annotator: str = Field(description="The person's stable user id")
    display_name: str = Field(description="The name shown for them (their id if unknown)")
    role: str
    dataset: str
    done: int
    reviews_shown: int = Field(description="Review tasks answered with the suggestion shown")
    confirmations: int = Field(description="Of those, answered with the suggested label")
    confirmation_rate: float | None
    gold_answered: int
    gold_correct: int
    gold_accuracy: float | None
    spot_checks: int = Field(description="Blind review tasks answered")
    spot_check_agreements: int = Field(description="Of those, answered with the hidden label")
    spot_check_agreement: float | None
    seconds_per_item: float | None = Field(description="Median time spent on a task")
    flagged: bool = Field(description="Confirms a lot but gets gold items wrong")
    flag_reason: str | None


class FlagThresholds(BaseModel):
    flag_confirmation_rate: float
    flag_gold_accuracy: float
    min_reviews: int
    min_gold: int


class Annotators(BaseModel):
    window_days: int
    thresholds: FlagThresholds
    annotators: list[AnnotatorView]


class LabelDefinitionView(BaseModel):
    label: str
    description: str
    examples: list[str]


class GuidelinesView(BaseModel):
    """One version of a dataset's guidelines: the Markdown, and each described label's
    definition in the dataset's label order."""

    dataset: str
    version: int
    markdown: str
    labels: list[LabelDefinitionView]
    content_sha256: str
    source: GuidelineSource = Field(description="'config': the datasets file; 'api': a PUT")
    created_by: str
    created_at: datetime


class GuidelinesStored(GuidelinesView):
    created: bool = Field(description="False: the content was already the latest version")


class GuidelineChanges(BaseModel):
    markdown: bool = Field(description="The Markdown changed")
    added: list[str] = Field(description="Labels described for the first time")
    removed: list[str] = Field(description="Labels no longer described")
    changed: list[str] = Field(description="Labels whose description or examples changed")

    @classmethod
    def of(cls, changes: Changes) -> GuidelineChanges:
        return cls(
            markdown=changes.markdown,
            added=list(changes.added),
            removed=list(changes.removed),
            changed=list(changes.changed),
        )


class GuidelineVersionSummary(BaseModel):
    version: int
    content_sha256: str
    source: GuidelineSource
    created_by: str
    created_at: datetime
    changes: GuidelineChanges = Field(description="What this version changed from the previous")


class GuidelineVersions(BaseModel):
    dataset: str
    latest: int | None
    versions: list[GuidelineVersionSummary] = Field(description="Newest first")


GuidelineLabel = Annotated[str, Field(min_length=1, max_length=200)]


class GuidelinesUpdate(BaseModel):
    """Body of PUT /v1/datasets/{dataset}/guidelines: the whole new content."""

    model_config = ConfigDict(extra="forbid")

    markdown: str = Field(default="", max_length=MAX_GUIDELINE_MARKDOWN_CHARS)
    labels: dict[GuidelineLabel, LabelGuide] = Field(default_factory=dict, max_length=1000)
