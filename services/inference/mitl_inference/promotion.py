"""Status changes in the model registry, and the ModelPromoted events that announce them.

Promotions and retirements of a dataset's versions serialise on a per-dataset advisory lock,
so that concurrent changes (operators, events, replicas starting together) apply one by one.

Every change is a row of `registry.promotions` with its event id, then an event on
mitl.models.v1; `published` marks rows whose event is durable in Kafka (an outbox).
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import ModelPromoted
from mitl_runtime.broker import EventPublisher

from mitl_inference import registry
from mitl_inference.registry import RegistryError, Status


def lock_key(dataset: str) -> str:
    return f"mitl-registry-{dataset}"


def promotion_event_id(dataset: str, version: str, status: Status, seq: int) -> str:
    """Deterministic given the registry: the same change always gets the same id."""
    return f"model-{dataset}-{version}-{status}-{seq}"


async def _record(
    conn: asyncpg.Connection,
    record: registry.ModelRecord,
    status: Status,
    previous: str | None,
    event_id: str | None,
    published: bool,
) -> ModelPromoted:
    seq = await conn.fetchval(
        "SELECT nextval(pg_get_serial_sequence('registry.promotions', 'seq'))"
    )
    event = ModelPromoted(
        event_id=event_id or promotion_event_id(record.dataset, record.version, status, seq),
        dataset=record.dataset,
        occurred_at=datetime.now(UTC),
        model_version=record.version,
        status=status,
        artifact_sha256=record.artifact_sha256,
        bundle_uri=record.bundle_uri,
    )
    await conn.execute(
        "INSERT INTO registry.promotions"
        " (seq, event_id, dataset, version, status, previous, published, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        seq,
        event.event_id,
        event.dataset,
        event.model_version,
        status,
        previous,
        published,
        event.occurred_at,
    )
    return event


async def promote(
    pool: asyncpg.Pool,
    dataset: str,
    version: str,
    *,
    event_id: str | None = None,
    only_if_no_champion: bool = False,
    published: bool = False,
) -> ModelPromoted | None:
    """Make `version` the champion of `dataset` and retire the previous champion, in one
    transaction. Returns the event announcing it, or None if nothing changed: `event_id` was
    applied before, `version` is already champion, or `only_if_no_champion` and there is one.
    `published` records an event that came from Kafka. Raises RegistryError if `version` is
    not registered."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_key(dataset))
        if event_id and await conn.fetchval(
            "SELECT 1 FROM registry.promotions WHERE event_id = $1", event_id
        ):
            return None
        record = await registry.get(conn, dataset, version)
        if record is None:
            raise RegistryError(f"version {version!r} of dataset {dataset!r} is not registered")
        current = await registry.champion(conn, dataset)
        if current is not None and (current.version == version or only_if_no_champion):
            return None
        await conn.execute(
            "UPDATE registry.models SET status = 'retired', retired_at = now()"
            " WHERE dataset = $1 AND status = 'champion'",
            dataset,
        )
        await conn.execute(
            "UPDATE registry.models SET status = 'champion', promoted_at = now(), retired_at = NULL"
            " WHERE dataset = $1 AND version = $2",
            dataset,
            version,
        )
        previous = current.version if current else None
        return await _record(conn, record, "champion", previous, event_id, published)


async def retire(
    pool: asyncpg.Pool,
    dataset: str,
    version: str,
    *,
    event_id: str | None = None,
    published: bool = False,
) -> ModelPromoted | None:
    """Retire a version that is not the champion; None if it already is retired. Raises
    RegistryError if it is unknown or the champion (promote another version first)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_key(dataset))
        record = await registry.get(conn, dataset, version)
        if record is None:
            raise RegistryError(f"version {version!r} of dataset {dataset!r} is not registered")
        if record.status == "champion":
            raise RegistryError(
                f"{version!r} is the champion of dataset {dataset!r}; promote another version "
                "first (a dataset is never left without a model)"
            )
        if record.status == "retired":
            return None
        await conn.execute(
            "UPDATE registry.models SET status = 'retired', retired_at = now()"
            " WHERE dataset = $1 AND version = $2",
            dataset,
            version,
        )
        return await _record(conn, record, "retired", None, event_id, published)


async def pending(pool: asyncpg.Pool) -> list[ModelPromoted]:
    """Recorded changes whose event is not yet on mitl.models.v1, oldest first."""
    rows = await pool.fetch(
        """
        SELECT p.event_id, p.dataset, p.version, p.status, p.occurred_at,
               m.artifact_sha256, m.bundle_uri
        FROM registry.promotions p
        JOIN registry.models m ON m.dataset = p.dataset AND m.version = p.version
        WHERE NOT p.published ORDER BY p.seq
        """
    )
    return [
        ModelPromoted(
            event_id=row["event_id"],
            dataset=row["dataset"],
            occurred_at=row["occurred_at"],
            model_version=row["version"],
            status=row["status"],
            artifact_sha256=row["artifact_sha256"],
            bundle_uri=row["bundle_uri"],
        )
        for row in rows
    ]


async def publish_pending(pool: asyncpg.Pool, publisher: EventPublisher) -> list[ModelPromoted]:
    """Publish every unpublished change, in order, then mark it published; returns them.
    Safe to run concurrently: an event published twice has the same id (consumers dedupe)."""
    events = await pending(pool)
    if events:
        await publisher.publish(topics.MODELS, events)
        await pool.execute(
            "UPDATE registry.promotions SET published = true WHERE event_id = ANY($1::text[])",
            [event.event_id for event in events],
        )
    return events


__all__ = ["RegistryError", "lock_key", "pending", "promote", "publish_pending", "retire"]
