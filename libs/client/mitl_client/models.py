"""What the client sends and gets back. Items and ingest answers are the contracts' own
(`ItemContent`, `ClientPrediction`, `IngestResponse`); so are the review API's bodies
(`mitl_contracts.api`), read leniently: fields a newer server adds are ignored."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

from mitl_contracts import api
from mitl_contracts.api import ItemOutcome
from mitl_contracts.events import ClientPrediction, ItemContent
from pydantic import BaseModel, ConfigDict, Field, model_validator

SubmitAction = api.SubmitAction


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the services the client talks to (ports as `mitl run` starts them)."""

    ingest: str = "http://127.0.0.1:8001"
    inference: str = "http://127.0.0.1:8002"
    review: str = "http://127.0.0.1:8004"
    audit: str = "http://127.0.0.1:8005"

    @classmethod
    def from_env(cls) -> Endpoints:
        """MITL_INGEST_URL, MITL_INFERENCE_URL, MITL_REVIEW_URL, MITL_AUDIT_URL, else defaults."""
        default = cls()
        return cls(
            ingest=os.environ.get("MITL_INGEST_URL", default.ingest),
            inference=os.environ.get("MITL_INFERENCE_URL", default.inference),
            review=os.environ.get("MITL_REVIEW_URL", default.review),
            audit=os.environ.get("MITL_AUDIT_URL", default.audit),
        )


RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. A 429 or 503 with `Retry-After` waits what the server
    asks (capped at `max_delay`); other retries back off exponentially with jitter."""

    attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_delay)
            except ValueError:
                pass  # an HTTP date: fall back to backoff
        backoff = self.base_delay * 2 ** (attempt - 1)
        return min(backoff * (0.5 + random.random() / 2), self.max_delay)


class Item(BaseModel):
    """One item to ingest: the fields of an item of POST /v1/items (the contracts' `ItemRaw`
    without the dataset, given once per batch). `external_id` is the idempotency key: the
    same id in the same dataset is never ingested twice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    external_id: str = Field(min_length=1, max_length=200)
    text: str | None = None
    vector: list[float] | None = None
    # An image item: its PNG or JPEG bytes base64-encoded, or a URL ingest fetches (only for
    # a dataset with `image_urls: true`).
    image: str | None = None
    image_url: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    prediction: ClientPrediction | None = None

    @model_validator(mode="after")
    def _valid_content(self) -> Item:
        if self.image_url is None:
            ItemContent(
                text=self.text, vector=self.vector, image=self.image, metadata=self.metadata
            )
        elif any(v is not None for v in (self.text, self.vector, self.image)):
            raise ValueError("an item with 'image_url' has no 'text', 'vector' or 'image'")
        return self

    def body(self) -> dict[str, Any]:
        """The item as POST /v1/items takes it."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class Rejection:
    """An item ingest refused, with its reason (ingest's own words)."""

    item: Item
    reason: str


@dataclass
class IngestSummary:
    """What a batched ingest did, over all its requests."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    requests: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + len(self.rejected)

    def add(self, items: list[Item], outcomes: list[ItemOutcome]) -> None:
        self.requests += 1
        for outcome in outcomes:
            if outcome.status == "accepted":
                self.accepted += 1
            elif outcome.status == "duplicate":
                self.duplicates += 1
            else:
                self.rejected.append(Rejection(items[outcome.index], outcome.reason or ""))


# The review API's bodies, as the contracts define them: one definition for server and client.
Suggestion = api.Suggestion
Escalation = api.Escalation


class Task(api.TaskView):
    """A claimed review task (the review API's TaskView). `suggestion` is None on blind tasks
    (spot checks and gold items). Fields a newer server adds are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class SubmitResult(api.SubmitResult):
    """What a submission did (the review API's SubmitResult). Fields a newer server adds are
    ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class DatasetInfo(api.DatasetInfo):
    """A dataset the review API serves. Fields a newer server adds are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
