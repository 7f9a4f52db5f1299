"""Datasets are declarative: label set, input kind, limits, model and routing policy.

One YAML file (`MITL_DATASETS_FILE`) declares them all; every service validates it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mitl_contracts.events import MAX_TEXT_CHARS, MAX_VECTOR_DIM, ItemContent, Name


class UnknownDataset(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.message = f"unknown dataset {name!r}; known: {', '.join(sorted(known)) or 'none'}"

    def __str__(self) -> str:
        return self.message


class Policy(BaseModel):
    """How the router treats a dataset's predictions. Versioned: every decision records it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = "v1"
    accept_threshold: float = Field(default=0.9, gt=0.0, le=1.0)
    escalation_floor: float = Field(default=0.3, ge=0.0, lt=1.0)
    outlier_threshold: float | None = Field(default=None, gt=0.0)
    uncertainty: Literal["least_confidence", "margin", "entropy"] = "least_confidence"
    # Items whose metadata[key] is one of the values always go to an expert.
    escalate_metadata: dict[str, list[str]] = Field(default_factory=dict)
    # Share of auto-accepted items also sent, blind, to review to measure accepted precision.
    spot_check_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # While the drift monitor has an alert open for the dataset, the accept threshold rises by
    # this much (capped at 1) and the spot-check share is at least drift_spot_check_rate.
    drift_threshold_raise: float = Field(default=0.05, ge=0.0, le=1.0)
    drift_spot_check_rate: float = Field(default=0.2, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if self.escalation_floor >= self.accept_threshold:
            raise ValueError(
                f"escalation_floor ({self.escalation_floor}) must be below "
                f"accept_threshold ({self.accept_threshold})"
            )
        return self


class Dataset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    input_kind: Literal["text", "vector"] = "text"
    labels: list[str] = Field(min_length=2)
    vector_dim: int | None = Field(default=None, ge=1, le=MAX_VECTOR_DIM)
    max_text_chars: int = Field(default=2000, ge=1, le=MAX_TEXT_CHARS)
    model: Path | None = None
    policy: Policy = Field(default_factory=Policy)

    @model_validator(mode="after")
    def _consistent(self) -> Dataset:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels are not distinct")
        if self.input_kind == "vector" and self.vector_dim is None:
            raise ValueError("a vector dataset needs vector_dim")
        return self

    def check_content(self, content: ItemContent) -> None:
        """Raise ValueError naming the problem if `content` does not fit this dataset."""
        if content.kind != self.input_kind:
            raise ValueError(
                f"dataset {self.name!r} takes {self.input_kind} items, not {content.kind}"
            )
        if content.text is not None and len(content.text) > self.max_text_chars:
            raise ValueError(
                f"text has {len(content.text)} characters; dataset {self.name!r} allows "
                f"{self.max_text_chars}"
            )
        if content.vector is not None and len(content.vector) != self.vector_dim:
            raise ValueError(
                f"vector has {len(content.vector)} values; "
                f"dataset {self.name!r} takes {self.vector_dim}"
            )


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    datasets: dict[str, Dataset]

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("datasets"), dict):
            data = dict(data)
            data["datasets"] = {
                key: {"name": key, **value} if isinstance(value, dict) else value
                for key, value in data["datasets"].items()
            }
        return data

    def get(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise UnknownDataset(name, list(self.datasets)) from None


def load_catalog(path: Path) -> Catalog:
    """Read and validate the datasets file; relative model paths are resolved against it."""
    raw = yaml.safe_load(path.read_text()) or {}
    catalog = Catalog.model_validate(raw)
    resolved = {
        name: ds.model_copy(update={"model": (path.parent / ds.model).resolve()})
        if ds.model is not None and not ds.model.is_absolute()
        else ds
        for name, ds in catalog.datasets.items()
    }
    return Catalog(datasets=resolved)
