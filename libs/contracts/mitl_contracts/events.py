"""One pydantic model per topic event: the only place a payload is declared.

Every event has `event_id` (the idempotency key), `dataset`, `item_id` where it concerns an
item, and `occurred_at`. Fields added within a topic version must have defaults.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mitl_contracts import topics

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]
MAX_TEXT_CHARS = 20_000
MAX_VECTOR_DIM = 4096
PROBABILITY_TOLERANCE = 1e-3
# A sketch is a low-dimensional projection of an item's embedding (mitl_ml.sketch: 16 values).
MAX_SKETCH_DIM = 64


def new_event_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Fields every event shares."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(default_factory=new_event_id, min_length=1, max_length=100)
    dataset: Name
    occurred_at: datetime = Field(default_factory=utcnow)


class ItemContent(BaseModel):
    """What a model scores: a text or a feature vector, plus free metadata for policies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    vector: list[float] | None = Field(default=None, max_length=MAX_VECTOR_DIM)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _exactly_one_input(self) -> ItemContent:
        if (self.text is None) == (self.vector is None):
            raise ValueError("an item has exactly one of 'text' or 'vector'")
        if self.text is not None and not self.text.strip():
            raise ValueError("'text' is empty")
        if self.vector is not None and not all(math.isfinite(v) for v in self.vector):
            raise ValueError("'vector' holds NaN or infinity")
        return self

    @property
    def kind(self) -> Literal["text", "vector"]:
        return "text" if self.text is not None else "vector"


class ClientPrediction(BaseModel):
    """A prediction a client system made with its own model, pushed along with the item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: Name
    labels: list[str] = Field(min_length=2)
    probabilities: list[float] = Field(min_length=2)

    @model_validator(mode="after")
    def _is_distribution(self) -> ClientPrediction:
        check_distribution(self.labels, self.probabilities)
        return self


def check_distribution(labels: list[str], probabilities: list[float]) -> None:
    """Raise ValueError unless `probabilities` is a finite distribution over distinct `labels`."""
    if len(labels) != len(probabilities):
        raise ValueError(f"{len(labels)} labels but {len(probabilities)} probabilities")
    if len(set(labels)) != len(labels):
        raise ValueError("labels are not distinct")
    if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in probabilities):
        raise ValueError("probabilities must be finite and within [0, 1]")
    total = sum(probabilities)
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise ValueError(f"probabilities sum to {total:.6f}, not 1")


class ItemRaw(Event):
    """mitl.items.raw.v1: an item as a client publishes it. POST /v1/items takes the same
    fields per item (without `dataset`, given once per batch)."""

    external_id: str = Field(min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    vector: list[float] | None = Field(default=None, max_length=MAX_VECTOR_DIM)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)
    batch_id: str | None = Field(default=None, max_length=100)
    prediction: ClientPrediction | None = None

    @model_validator(mode="after")
    def _valid_content(self) -> ItemRaw:
        _ = self.content
        return self

    @property
    def content(self) -> ItemContent:
        return ItemContent(text=self.text, vector=self.vector, metadata=self.metadata)


class ItemIngested(Event):
    """mitl.items.ingested.v1: a validated, deduplicated item with its platform id."""

    item_id: str
    external_id: str
    batch_id: str
    content: ItemContent
    # The client sent its own prediction with the item: the platform's model does not score it.
    scored_by_client: bool = False
    # The ingest client (its key's id, `mitl clients`) that sent the item over HTTP; None for
    # items from the raw topic (authenticated by the broker) or ingest without client keys.
    client_id: Name | None = None


class Prediction(Event):
    """mitl.predictions.v1: a model's full probability vector for one item."""

    item_id: str
    batch_id: str = ""
    content: ItemContent
    source: Literal["platform", "client"] = "platform"
    model_version: str
    labels: list[str]
    probabilities: list[float]
    outlier_score: float = 0.0
    truncated: bool = False
    # The item's embedding projected to a few dimensions (mitl_ml.sketch.sketch), so that the
    # drift monitor can watch the input distribution; None when the model has no embedding.
    embedding_sketch: list[float] | None = Field(
        default=None, min_length=1, max_length=MAX_SKETCH_DIM
    )

    @model_validator(mode="after")
    def _is_distribution(self) -> Prediction:
        check_distribution(self.labels, self.probabilities)
        return self

    @model_validator(mode="after")
    def _finite_sketch(self) -> Prediction:
        if self.embedding_sketch is not None and not all(
            math.isfinite(v) for v in self.embedding_sketch
        ):
            raise ValueError("'embedding_sketch' holds NaN or infinity")
        return self

    @property
    def top(self) -> tuple[str, float]:
        best = max(range(len(self.probabilities)), key=self.probabilities.__getitem__)
        return self.labels[best], self.probabilities[best]


Route = Literal["accept", "review", "escalate"]
Queue = Literal["annotator", "expert"]


class Decision(Event):
    """mitl.decisions.v1: what the router decided for one prediction, and why."""

    item_id: str
    batch_id: str = ""
    prediction_event_id: str
    route: Route
    reason: str
    predicted_label: str
    confidence: float
    priority: float = 0.0
    spot_check: bool = False
    model_version: str
    policy_version: str
    thresholds: dict[str, float] = Field(default_factory=dict)


class ReviewRequested(Event):
    """mitl.review.requested.v1: an item that needs a person, with the model's suggestion."""

    item_id: str
    batch_id: str = ""
    decision_event_id: str
    queue: Queue
    priority: float
    reason: str
    content: ItemContent
    suggested_label: str
    confidence: float
    labels: list[str]
    probabilities: list[float]
    hide_suggestion: bool = False
    model_version: str
    policy_version: str


LabelSource = Literal["model", "client", "annotator", "expert"]
LabelAction = Literal["auto_accept", "confirm", "correct", "resolve"]


class Label(Event):
    """mitl.labels.v1: a final label for an item, from the model or a person."""

    item_id: str
    batch_id: str = ""
    label: str
    source: LabelSource
    action: LabelAction
    annotator: str | None = None
    role: str | None = None
    suggested_label: str | None = None
    suggestion_shown: bool = True
    time_spent_ms: int | None = Field(default=None, ge=0)
    model_version: str
    policy_version: str = ""
    review_event_id: str | None = None
    # The dataset's annotation guideline version (review API) in force when a person made
    # the label; None for model labels and datasets without guidelines.
    guideline_version: int | None = Field(default=None, ge=1)

    @property
    def is_override(self) -> bool:
        """A person chose a label other than the model's suggestion."""
        return (
            self.source in ("annotator", "expert")
            and self.suggested_label is not None
            and self.label != self.suggested_label
        )


class ModelPromoted(Event):
    """mitl.models.v1: a model version became (or stopped being) a dataset's champion."""

    model_version: str
    status: Literal["champion", "candidate", "retired"]
    artifact_sha256: str = ""
    bundle_uri: str = ""


class DriftAlert(Event):
    """mitl.drift.v1: a drift statistic crossed (or fell back under) its threshold."""

    model_version: str
    state: Literal["alert", "clear"]
    statistic: str
    value: float
    threshold: float
    severity: Literal["info", "warning", "critical"] = "warning"
    segment: str = "all"
    window_size: int
    reference_size: int
    details: dict[str, Any] = Field(default_factory=dict)


class PolicyChanged(Event):
    """mitl.policies.v1: the routing policy in force for a dataset changed (e.g. the router
    learned new per-class thresholds). `policy` is the whole policy as it now applies."""

    policy_version: str = Field(min_length=1, max_length=200)
    policy: dict[str, Any]
    reason: str = Field(min_length=1, max_length=2000)
    changed_by: str = Field(min_length=1, max_length=200)


TOPIC_EVENTS: dict[str, type[Event]] = {
    topics.ITEMS_RAW: ItemRaw,
    topics.ITEMS_INGESTED: ItemIngested,
    topics.PREDICTIONS: Prediction,
    topics.DECISIONS: Decision,
    topics.REVIEW_REQUESTED: ReviewRequested,
    topics.LABELS: Label,
    topics.MODELS: ModelPromoted,
    topics.DRIFT: DriftAlert,
    topics.POLICIES: PolicyChanged,
}
