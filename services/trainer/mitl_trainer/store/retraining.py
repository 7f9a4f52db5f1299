"""Retraining requests and the models they produced, in schema `trainer`. A request is keyed by
what made it, so making it again is a no-op."""

from __future__ import annotations

from typing import Any

import asyncpg

from mitl_trainer.store.learned import Db


async def request(db: Db, request_id: str, dataset: str, trigger: str, ref: str) -> bool:
    """Make a retraining request; False if it was made before."""
    made = await db.fetchval(
        "INSERT INTO trainer.requests (request_id, dataset, trigger, trigger_ref)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO NOTHING RETURNING true",
        request_id,
        dataset,
        trigger,
        ref,
    )
    return bool(made)


async def get_request(db: Db, request_id: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM trainer.requests WHERE request_id = $1", request_id)


async def claim_request(db: Db, lease_s: float, max_attempts: int) -> asyncpg.Record | None:
    """Take the oldest pending request (not before its `not_before`), or one left running past
    its lease by a replica that died, and mark it running; None if there is none. Requests out
    of attempts fail. `age_s`: seconds since it was made, on the database's clock."""
    await db.execute(
        """
        UPDATE trainer.requests SET status = 'done', outcome = 'failed', finished_at = now(),
            reason = format('given up after %s attempts', attempts)
        WHERE status = 'running' AND attempts >= $2
          AND started_at < now() - make_interval(secs => $1)
        """,
        lease_s,
        max_attempts,
    )
    return await db.fetchrow(
        """
        UPDATE trainer.requests SET status = 'running', started_at = now(),
            attempts = attempts + 1
        WHERE request_id = (
            SELECT request_id FROM trainer.requests
            WHERE (status = 'pending' AND (not_before IS NULL OR not_before <= now()))
               OR (status = 'running' AND started_at < now() - make_interval(secs => $1))
            ORDER BY created_at, request_id LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        RETURNING *, extract(epoch FROM now() - created_at)::float8 AS age_s
        """,
        lease_s,
    )


async def defer_request(db: Db, request_id: str, after_s: float, reason: str) -> None:
    """Put a running request back as pending, to be taken again no earlier than `after_s`
    from now, with `reason` for what it waits for; the claim that took it is not counted
    as an attempt."""
    await db.execute(
        "UPDATE trainer.requests SET status = 'pending', reason = $3,"
        " not_before = now() + make_interval(secs => $2), attempts = attempts - 1"
        " WHERE request_id = $1",
        request_id,
        after_s,
        reason,
    )


async def finish_request(
    db: Db, request_id: str, outcome: str, reason: str, model_version: str | None = None
) -> None:
    await db.execute(
        "UPDATE trainer.requests SET status = 'done', outcome = $2, reason = $3,"
        " model_version = $4, finished_at = now() WHERE request_id = $1",
        request_id,
        outcome,
        reason,
        model_version,
    )


async def model_exists(db: Db, dataset: str, version: str) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM trainer.models WHERE dataset = $1 AND model_version = $2",
            dataset,
            version,
        )
    )


async def add_model(db: Db, row: dict[str, Any]) -> None:
    await db.execute(
        """
        INSERT INTO trainer.models (dataset, model_version, request_id, artifact_sha256,
            bundle_uri, promoted, metrics, training)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)
        ON CONFLICT (dataset, model_version) DO NOTHING
        """,
        row["dataset"],
        row["model_version"],
        row["request_id"],
        row["artifact_sha256"],
        row["bundle_uri"],
        row["promoted"],
        row["metrics"],
        row["training"],
    )


async def requests_of(db: Db, dataset: str, limit: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT request_id, trigger, trigger_ref, status, outcome, reason, model_version,"
        " attempts, created_at, started_at, finished_at FROM trainer.requests"
        " WHERE dataset = $1 ORDER BY created_at DESC, request_id LIMIT $2",
        dataset,
        limit,
    )


async def models_of(db: Db, dataset: str, limit: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT model_version, request_id, artifact_sha256, bundle_uri, promoted,"
        " metrics::text AS metrics, created_at FROM trainer.models"
        " WHERE dataset = $1 ORDER BY created_at DESC LIMIT $2",
        dataset,
        limit,
    )
