"""Topic names. A name ends in its version; within a version, changes are additive."""

from __future__ import annotations

ITEMS_RAW = "mitl.items.raw.v1"
ITEMS_INGESTED = "mitl.items.ingested.v1"
PREDICTIONS = "mitl.predictions.v1"
DECISIONS = "mitl.decisions.v1"
REVIEW_REQUESTED = "mitl.review.requested.v1"
LABELS = "mitl.labels.v1"
MODELS = "mitl.models.v1"
DRIFT = "mitl.drift.v1"
POLICIES = "mitl.policies.v1"
# Who changed which credential or role (ingest client keys, review users): for the audit chain.
ACCESS = "mitl.access.v1"

ALL = (
    ITEMS_RAW,
    ITEMS_INGESTED,
    PREDICTIONS,
    DECISIONS,
    REVIEW_REQUESTED,
    LABELS,
    MODELS,
    DRIFT,
    POLICIES,
    ACCESS,
)

# The item's path from a client to a routing decision and a reviewer's queue: consumers of
# these fetch with the short wait (kafka_fetch_max_wait_ms), the others with the background
# one, which costs the broker fewer idle polls.
LATENCY_SENSITIVE = frozenset({ITEMS_RAW, ITEMS_INGESTED, PREDICTIONS, REVIEW_REQUESTED})


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`: records that can never be processed, reason in headers."""
    return f"{topic}.dlq"
