"""One pydantic model per topic event: the only place a payload is declared.

Every event has `event_id` (the idempotency key), `dataset`, `item_id` where it concerns an
item, and `occurred_at`. Fields added within a topic version must have defaults.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mitl_contracts import topics
from mitl_contracts.spans import MAX_SPANS, Span, SpanDiff, check_spans, span_diff, spans_key

# What a name (a dataset, a model version, a batch) may be: these characters, at most this long.
NAME_CHARACTERS = r"A-Za-z0-9_.:\-"
NAME_MAX_LENGTH = 200
Name = Annotated[
    str, Field(min_length=1, max_length=NAME_MAX_LENGTH, pattern=rf"^[{NAME_CHARACTERS}]+$")
]
MAX_TEXT_CHARS = 20_000
MAX_VECTOR_DIM = 4096
PROBABILITY_TOLERANCE = 1e-3
# An image travels base64-encoded inside the events (PNG or JPEG): at most this many bytes
# decoded, whatever a dataset allows (a Kafka message stays well under the broker's 1 MiB).
MAX_IMAGE_BYTES = 512 * 1024
MAX_IMAGE_B64_CHARS = 4 * ((MAX_IMAGE_BYTES + 2) // 3)
MAX_IMAGE_URL_CHARS = 2000
# The formats an image item may carry, by the signature its bytes start with.
IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}
InputKind = Literal["text", "vector", "image"]
# What one item's label is: one label ("single"), a set of labels ("multilabel"), or a set
# of entity spans in its text ("spans", mitl_contracts.spans).
Task = Literal["single", "multilabel", "spans"]
# A multi-label event's `label` string: its label set, sorted, joined by this separator.
LABEL_SET_SEPARATOR = "|"
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


def image_bytes(encoded: str) -> bytes:
    """The bytes of a base64 `image` field; ValueError naming the fault if it is not strict
    base64, is empty, or is neither PNG nor JPEG by its signature."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("'image' is not valid base64") from None
    if not data:
        raise ValueError("'image' is empty")
    if image_format(data) is None:
        raise ValueError("'image' is neither PNG nor JPEG (by its first bytes)")
    return data


def image_format(data: bytes) -> str | None:
    """ "png" or "jpeg" by the signature `data` starts with, else None."""
    return next((name for sig, name in IMAGE_SIGNATURES.items() if data.startswith(sig)), None)


class ItemContent(BaseModel):
    """What a model scores: a text, a feature vector or an image (PNG or JPEG bytes,
    base64-encoded), plus free metadata for policies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    vector: list[float] | None = Field(default=None, max_length=MAX_VECTOR_DIM)
    image: str | None = Field(default=None, max_length=MAX_IMAGE_B64_CHARS)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _exactly_one_input(self) -> ItemContent:
        given = [v is not None for v in (self.text, self.vector, self.image)]
        if sum(given) != 1:
            raise ValueError("an item has exactly one of 'text', 'vector' or 'image'")
        if self.text is not None and not self.text.strip():
            raise ValueError("'text' is empty")
        if self.vector is not None and not all(math.isfinite(v) for v in self.vector):
            raise ValueError("'vector' holds NaN or infinity")
        if self.image is not None:
            image_bytes(self.image)
        return self

    @property
    def kind(self) -> InputKind:
        if self.text is not None:
            return "text"
        return "vector" if self.vector is not None else "image"

    @property
    def image_data(self) -> bytes | None:
        """The image's bytes (None for text and vector items)."""
        return None if self.image is None else base64.b64decode(self.image)


class ClientPrediction(BaseModel):
    """A prediction a client system made with its own model, pushed along with the item.

    A span dataset's prediction gives `spans` (each with its confidence) and `spans_complete`
    (the confidence that no entity is missing) instead of `probabilities`, which ingest then
    derives as a span model's are (span_distribution). Ingest checks the spans against the
    item's text and the dataset (mitl_contracts.spans.check_spans)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: Name
    labels: list[str] = Field(min_length=2)
    # Required unless the prediction has spans.
    probabilities: list[float] | None = Field(default=None, min_length=2)
    # Multi-label datasets: each label's own probability (see Prediction).
    label_probabilities: dict[str, float] | None = None
    # Span datasets: the client model's entities and its "nothing missing" confidence.
    spans: list[Span] | None = Field(default=None, max_length=MAX_SPANS)
    spans_complete: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _is_distribution(self) -> ClientPrediction:
        if (self.spans is None) != (self.spans_complete is None):
            raise ValueError("a span prediction carries both 'spans' and 'spans_complete'")
        if self.spans is not None:
            if self.probabilities is not None or self.label_probabilities is not None:
                raise ValueError(
                    "a span prediction's probabilities come from its spans; "
                    "send no 'probabilities' or 'label_probabilities' with 'spans'"
                )
            if any(span.confidence is None for span in self.spans):
                raise ValueError("every predicted span carries its confidence")
            check_spans(self.spans, labels=self.labels, allow_overlap=True)
            return self
        if self.probabilities is None:
            raise ValueError("a prediction carries 'probabilities' (or, for spans, 'spans')")
        check_distribution(self.labels, self.probabilities)
        if self.label_probabilities is not None:
            check_label_probabilities(self.labels, self.label_probabilities)
        return self

    def distribution(self, labels: Sequence[str]) -> list[float]:
        """The prediction's probabilities in the order of `labels` (the same label set)."""
        if self.spans is not None:
            return span_distribution(self.spans, labels)
        assert self.probabilities is not None  # the validator requires them without spans
        by_label = dict(zip(self.labels, self.probabilities, strict=True))
        return [by_label[label] for label in labels]


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


def label_set_key(labels: list[str] | set[str] | frozenset[str]) -> str:
    """The `label` string of a multi-label event: its labels sorted and joined ('' if none)."""
    return LABEL_SET_SEPARATOR.join(sorted(set(labels)))


def check_label_probabilities(labels: list[str], per_label: dict[str, float]) -> None:
    """Raise ValueError unless `per_label` gives a finite probability in [0, 1] for every one
    of `labels` and for no other label (a multi-label prediction)."""
    missing = [label for label in labels if label not in per_label]
    if missing:
        raise ValueError(
            f"multi-label prediction has no probability for label(s) {', '.join(missing)}"
        )
    unknown = sorted(set(per_label) - set(labels))
    if unknown:
        raise ValueError(
            f"multi-label prediction has probabilities for unknown label(s) {', '.join(unknown)}"
        )
    bad = [label for label, p in per_label.items() if not (math.isfinite(p) and 0.0 <= p <= 1.0)]
    if bad:
        raise ValueError(
            f"multi-label probabilities must be finite and within [0, 1]: {', '.join(bad)}"
        )


def distribution_of(per_label: list[float]) -> list[float]:
    """Independent per-label probabilities scaled to sum to 1 (uniform when all are 0): the
    `probabilities` a multi-label prediction carries beside `label_probabilities`, so that
    consumers reading a distribution keep working."""
    total = sum(per_label)
    if total <= 0.0:
        return [1.0 / len(per_label)] * len(per_label)
    return [p / total for p in per_label]


def span_distribution(spans: Iterable[Span], labels: Sequence[str]) -> list[float]:
    """A span prediction's `probabilities`: each label's highest span confidence, scaled to
    sum to 1 (uniform without spans)."""
    best = dict.fromkeys(labels, 0.0)
    for span in spans:
        best[span.label] = max(best[span.label], float(span.confidence or 0.0))
    return distribution_of([best[label] for label in labels])


def _check_label_set(labels: list[str] | None, field: str) -> None:
    if labels is not None and len(set(labels)) != len(labels):
        raise ValueError(f"'{field}' holds a label more than once")


class ItemRaw(Event):
    """mitl.items.raw.v1: an item as a client publishes it. POST /v1/items takes the same
    fields per item (without `dataset`, given once per batch).

    An image item carries its PNG or JPEG bytes base64-encoded in `image`, or an
    `image_url` (http or https) that ingest fetches only for a dataset that allows it
    (`image_urls: true`); ingest then passes the fetched bytes on as `image`."""

    external_id: str = Field(min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    vector: list[float] | None = Field(default=None, max_length=MAX_VECTOR_DIM)
    image: str | None = Field(default=None, max_length=MAX_IMAGE_B64_CHARS)
    image_url: str | None = Field(
        default=None, max_length=MAX_IMAGE_URL_CHARS, pattern=r"^https?://[^\s]+$"
    )
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)
    batch_id: str | None = Field(default=None, max_length=100)
    prediction: ClientPrediction | None = None

    @model_validator(mode="after")
    def _valid_content(self) -> ItemRaw:
        if self.image_url is not None:
            if any(v is not None for v in (self.text, self.vector, self.image)):
                raise ValueError("an item with 'image_url' has no 'text', 'vector' or 'image'")
            return self
        _ = self.content
        return self

    @property
    def content(self) -> ItemContent:
        """The item's content; ValueError for an `image_url` item not fetched yet."""
        if self.image_url is not None and self.image is None:
            raise ValueError("the image at 'image_url' has not been fetched")
        return ItemContent(
            text=self.text, vector=self.vector, image=self.image, metadata=self.metadata
        )


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
    # Multi-label datasets: the probability that each label applies, independently (a
    # one-vs-rest head), one for every label of `labels`; `probabilities` then holds them
    # scaled to sum to 1 (distribution_of). None: a single-label prediction.
    label_probabilities: dict[str, float] | None = None
    # Span datasets: the entities the model found in the text, each with its confidence, and
    # `spans_complete`, the model's confidence that no further entity is missing. `labels`
    # are then the dataset's entity labels and `probabilities` each label's highest span
    # confidence scaled to sum to 1 (distribution_of). None: not a span prediction.
    spans: list[Span] | None = Field(default=None, max_length=200)
    spans_complete: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _is_distribution(self) -> Prediction:
        check_distribution(self.labels, self.probabilities)
        if self.label_probabilities is not None:
            check_label_probabilities(self.labels, self.label_probabilities)
        if (self.spans is None) != (self.spans_complete is None):
            raise ValueError("a span prediction carries both 'spans' and 'spans_complete'")
        if self.spans is not None:
            if self.label_probabilities is not None:
                raise ValueError("a prediction carries spans or label_probabilities, not both")
            if any(span.confidence is None for span in self.spans):
                raise ValueError("every predicted span carries its confidence")
            text = self.content.text
            check_spans(
                self.spans,
                text_length=None if text is None else len(text),
                labels=self.labels,
                allow_overlap=True,
            )
        return self

    @property
    def task(self) -> Task:
        if self.spans is not None:
            return "spans"
        return "single" if self.label_probabilities is None else "multilabel"

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
    # Multi-label: the labels predicted present, and the confidence of each label's in/out
    # decision (max(p, 1 - p)); `predicted_label` is then label_set_key(predicted_labels) and
    # `confidence` the least certain label's.
    predicted_labels: list[str] | None = None
    label_confidences: dict[str, float] | None = None
    # Spans: the predicted spans (with confidences) and the confidence that none is missing;
    # `predicted_label` is then spans_key(predicted_spans) and `confidence` the least of
    # these (mitl_contracts.spans.least_confidence).
    predicted_spans: list[Span] | None = None
    spans_complete: float | None = Field(default=None, ge=0.0, le=1.0)


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
    # Multi-label: the suggested label set and each label's probability (see Prediction).
    suggested_labels: list[str] | None = None
    label_probabilities: dict[str, float] | None = None
    # Spans: the suggested spans with their confidences (`suggested_label` is their
    # spans_key) and the confidence that none is missing.
    suggested_spans: list[Span] | None = None
    spans_complete: float | None = Field(default=None, ge=0.0, le=1.0)


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
    # Multi-label: the item's label set (`label` is then label_set_key(labels)) and the set
    # the model suggested (`suggested_label` its key).
    labels: list[str] | None = None
    suggested_labels: list[str] | None = None
    # Spans: the item's full span set (`label` is then spans_key(spans); [] means no entity)
    # and the spans the model suggested (`suggested_label` their key).
    spans: list[Span] | None = Field(default=None, max_length=200)
    suggested_spans: list[Span] | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _consistent_label_set(self) -> Label:
        _check_label_set(self.labels, "labels")
        _check_label_set(self.suggested_labels, "suggested_labels")
        if self.spans is not None:
            check_spans(self.spans, allow_overlap=True)
            if self.label != spans_key(self.spans):
                raise ValueError(
                    f"'label' {self.label!r} is not the span set {spans_key(self.spans)!r}"
                )
        if self.suggested_spans is not None and self.suggested_label != spans_key(
            self.suggested_spans
        ):
            raise ValueError("'suggested_label' is not the key of 'suggested_spans'")
        if self.labels is not None and self.label != label_set_key(self.labels):
            raise ValueError(
                f"'label' {self.label!r} is not the label set {label_set_key(self.labels)!r}"
            )
        if self.suggested_labels is not None and self.suggested_label != label_set_key(
            self.suggested_labels
        ):
            raise ValueError("'suggested_label' is not the key of 'suggested_labels'")
        return self

    @property
    def is_override(self) -> bool:
        """A person chose a label (or label set) other than the model's suggestion."""
        return (
            self.source in ("annotator", "expert")
            and self.suggested_label is not None
            and self.label != self.suggested_label
        )

    @property
    def labels_added(self) -> list[str]:
        """Multi-label: the labels a person added to the suggested set."""
        if self.labels is None or self.suggested_labels is None:
            return []
        return sorted(set(self.labels) - set(self.suggested_labels))

    @property
    def labels_removed(self) -> list[str]:
        """Multi-label: the labels a person removed from the suggested set."""
        if self.labels is None or self.suggested_labels is None:
            return []
        return sorted(set(self.suggested_labels) - set(self.labels))

    @property
    def span_changes(self) -> SpanDiff | None:
        """Spans: what a person added, removed and relabelled in the suggested spans."""
        if self.spans is None or self.suggested_spans is None:
            return None
        return span_diff(self.suggested_spans, self.spans)


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


# The `dataset` of an access change: credentials and roles belong to the platform, not to one
# dataset (the datasets a change concerns are in `changes`).
ACCESS_DATASET = "mitl:access"
AccessService = Literal["ingest", "review-api"]
# What an access change may never carry, by the name of a field of `changes` (a key, a
# token, its hash): the audit chain is read by auditors and kept forever.
SECRET_FIELD_WORDS = ("token", "key", "secret", "password", "sha256", "hash", "credential")


class AccessChanged(Event):
    """mitl.access.v1: a credential or a role changed. `action` says what (`client.create`,
    `client.rotate`, `client.revoke`, `client.scope`, `user.create`, `user.sso-create`,
    `user.disable`, `user.enable`, `user.rotate-token`, `user.assign`, `user.unassign`,
    `user.role`), `actor` who did it (`user:<id>` of an admin over HTTP, `cli:<os user>` from
    the command line, `oidc:<issuer>` for what single sign-on did), `subject` whose credential
    or role it is (a client id, a user id), `changes` the new values (datasets, role, expiry),
    never a secret nor its hash. `dataset` is ACCESS_DATASET: access is the platform's, the
    datasets a change concerns are in `changes`."""

    service: AccessService
    action: str = Field(min_length=1, max_length=100, pattern=r"^[a-z]+\.[a-z-]+$")
    actor: str = Field(min_length=1, max_length=300)
    subject: str = Field(min_length=1, max_length=300)
    changes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def no_secret(self) -> AccessChanged:
        secret = [
            name
            for name in self.changes
            if any(word in name.lower() for word in SECRET_FIELD_WORDS)
        ]
        if secret:
            raise ValueError(
                f"an access change never carries a secret or its hash: {', '.join(secret)}"
            )
        return self


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
    topics.ACCESS: AccessChanged,
}
