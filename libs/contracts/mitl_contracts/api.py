"""HTTP request and response bodies that clients rely on (ingest)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
