"""Status changes in the model registry, and the ModelPromoted events that announce them.

Promotions and retirements of a dataset's versions serialise on a per-dataset advisory lock,
so that concurrent changes (operators, events, replicas starting together) apply one by one.

Every change is a row of `registry.promotions` with its event id and, unless the change came
from an event on mitl.models.v1, a ModelPromoted event in the registry's outbox (the runtime's,
table `registry.outbox`), written in the same transaction and published by `publish_pending`
(the service's relay, or `mitl models` once after a change).
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import ModelPromoted
from mitl_runtime import outbox

from mitl_inference.store import registry
from mitl_inference.store.registry import RegistryError, Status

SCHEMA = "registry"


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
        " (seq, event_id, dataset, version, status, previous, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        seq,
        event.event_id,
        event.dataset,
        event.model_version,
        status,
        previous,
        event.occurred_at,
    )
    if not published:
        await outbox.add(conn, SCHEMA, topics.MODELS, [event])
    return event


async def lock(conn: asyncpg.Connection, dataset: str) -> None:
    """Hold the dataset's registry lock until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_key(dataset))


async def registered(conn: asyncpg.Connection, dataset: str, version: str) -> registry.ModelRecord:
    """The version's record; RegistryError if it is not registered."""
    record = await registry.get(conn, dataset, version)
    if record is None:
        raise registry.UnknownVersion(
            f"version {version!r} of dataset {dataset!r} is not registered"
        )
    return record


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
        await lock(conn, dataset)
        if event_id and await conn.fetchval(
            "SELECT 1 FROM registry.promotions WHERE event_id = $1", event_id
        ):
            return None
        record = await registered(conn, dataset, version)
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
        await lock(conn, dataset)
        record = await registered(conn, dataset, version)
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


async def publish_pending(pool: asyncpg.Pool, publisher: outbox.Publisher) -> list[ModelPromoted]:
    """Publish every change not yet announced, in order, and mark it published; returns the
    events this call published. Safe to run concurrently: rows another caller is publishing
    are skipped, and an event published twice has the same id (consumers dedupe)."""
    events = await outbox.publish_pending(pool, SCHEMA, publisher)
    return [event for event in events if isinstance(event, ModelPromoted)]


__all__ = ["SCHEMA", "RegistryError", "lock_key", "promote", "publish_pending", "retire"]
