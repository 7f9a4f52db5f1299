"""The model registry's versions (schema `registry`, table `models`): what is registered,
with which manifest and artifact, and in which status. Status changes live in status_changes.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from mitl_ml.encoder import ENCODER_ID, MAX_TOKENS
from mitl_ml.manifest import HYBRID_KINDS, MINILM_KINDS, ModelManifest
from mitl_runtime.db import from_row

Status = Literal["candidate", "champion", "retired"]


class RegistryError(Exception):
    """A registry operation that cannot be done as asked; the message says why."""


class UnknownVersion(RegistryError):
    """The version named is not registered for the dataset."""


@dataclass(frozen=True)
class ModelRecord:
    dataset: str
    version: str
    kind: str
    status: Status
    artifact_sha256: str
    bundle_uri: str
    manifest: ModelManifest
    registered_at: datetime
    promoted_at: datetime | None
    retired_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ModelRecord:
        return from_row(cls, row, manifest=ModelManifest.model_validate_json(row["manifest"]))

    def summary(self) -> dict[str, object]:
        """The record as `mitl models list` and GET /v1/registry show it."""
        metrics = self.manifest.metrics
        return {
            "dataset": self.dataset,
            "version": self.version,
            "kind": self.kind,
            "status": self.status,
            "labels": list(self.manifest.labels),
            "input_kind": self.manifest.input_kind,
            "preprocessing": preprocessing(self.manifest),
            "artifact_sha256": self.artifact_sha256,
            "bundle_uri": self.bundle_uri,
            "training_examples": self.manifest.training.get("n_examples"),
            "holdout_accuracy": metrics.get("holdout_accuracy"),
            "holdout_macro_recall": metrics.get("holdout_macro_recall"),
            # Expected calibration error on held-out verified items (mitl_ml.calibrate).
            "holdout_ece": metrics.get("holdout_ece"),
            "registered_at": self.registered_at.isoformat(),
            "promoted_at": self.promoted_at.isoformat() if self.promoted_at else None,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }


def preprocessing(manifest: ModelManifest) -> dict[str, object]:
    """How the model turns an item into its input, from the manifest."""
    if manifest.kind in MINILM_KINDS or manifest.kind in HYBRID_KINDS:
        steps: dict[str, object] = {
            "tokenizer": "WordPiece (all-MiniLM-L6-v2 tokenizer.json), length-sorted batches",
            "max_tokens": MAX_TOKENS,
            "encoder": manifest.training.get("encoder", ENCODER_ID),
            "pooling": "mean over tokens, L2-normalised",
        }
        if manifest.encoder is not None and manifest.encoder.quantization:
            steps["quantization"] = manifest.encoder.quantization.get("recipe")
        if manifest.kind in HYBRID_KINDS:
            steps["tfidf_word_ngrams"] = manifest.training.get("word_ngrams")
            steps["tfidf_char_ngrams"] = manifest.training.get("char_ngrams")
            steps["temperature"] = manifest.training.get("temperature")
        return steps
    if manifest.kind == "tfidf-logreg":
        ngrams = manifest.training.get("ngram_range", [1, 2])
        return {"tokenizer": r"in the ONNX graph: \w\w+ words", "tfidf_ngram_range": ngrams}
    if manifest.input_kind == "image":
        return {
            "pixels": "decoded (PNG or JPEG), grayscale, box-resized, flattened, / 255",
            "image_size": manifest.image_size,
        }
    return {"vector_dim": manifest.vector_dim}


COLUMNS = (
    "dataset, version, kind, status, artifact_sha256, bundle_uri, manifest::text AS manifest, "
    "registered_at, promoted_at, retired_at"
)


async def insert(
    conn: asyncpg.Connection | asyncpg.Pool, manifest: ModelManifest, digest: str, uri: str
) -> ModelRecord:
    """Record a candidate version; registering the same artifact again is a no-op.

    Raises RegistryError if the version is registered with a different artifact.
    """
    await conn.execute(
        """
        INSERT INTO registry.models
            (dataset, version, kind, input_kind, labels, artifact_sha256, bundle_uri, manifest)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
        ON CONFLICT (dataset, version) DO NOTHING
        """,
        manifest.dataset,
        manifest.version,
        manifest.kind,
        manifest.input_kind,
        list(manifest.labels),
        digest,
        uri,
        manifest.model_dump_json(),
    )
    record = await get(conn, manifest.dataset, manifest.version)
    assert record is not None  # inserted above or already there; rows are never deleted
    if record.artifact_sha256 != digest:
        raise RegistryError(
            f"version {manifest.version!r} of dataset {manifest.dataset!r} is already "
            f"registered with artifact {record.artifact_sha256[:12]}…, not {digest[:12]}…; "
            "give the new model its own version"
        )
    return record


async def get(
    conn: asyncpg.Connection | asyncpg.Pool, dataset: str, version: str
) -> ModelRecord | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM registry.models WHERE dataset = $1 AND version = $2",
        dataset,
        version,
    )
    return ModelRecord.from_row(row) if row else None


async def champion(conn: asyncpg.Connection | asyncpg.Pool, dataset: str) -> ModelRecord | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM registry.models WHERE dataset = $1 AND status = 'champion'",
        dataset,
    )
    return ModelRecord.from_row(row) if row else None


async def listing(
    conn: asyncpg.Connection | asyncpg.Pool, dataset: str | None = None
) -> list[ModelRecord]:
    """Every version (of `dataset`, if given), by dataset, then newest first."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM registry.models WHERE $1::text IS NULL OR dataset = $1 "
        "ORDER BY dataset, registered_at DESC, version",
        dataset,
    )
    return [ModelRecord.from_row(row) for row in rows]
