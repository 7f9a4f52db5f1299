"""Claiming the next task of a queue."""

from __future__ import annotations

import asyncpg

from mitl_review.core.auth import User, check_can_claim
from mitl_review.core.task import Task
from mitl_review.metrics import CLAIMS, LEASE_EXPIRIES
from mitl_review.store import tasks


async def claim(
    pool: asyncpg.Pool, user: User, dataset: str, queue: str, lease_seconds: float
) -> Task | None:
    """The task `user` should work on next in (dataset, queue), leased to them; None if the
    queue has nothing for them. A caller who already holds a live lease in the queue gets that
    task back unchanged, so reloading the page does not strand a leased task."""
    check_can_claim(user, queue)
    async with pool.acquire() as conn, conn.transaction():
        # One claim at a time per person and queue: two concurrent claims by the same person
        # must not lease two tasks. Other people's claims are not blocked.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('mitl-review-claim'), hashtext($1))",
            f"{user.name}/{dataset}/{queue}",
        )
        held = await tasks.held_lease(conn, user.name, dataset, queue)
        if held is not None:
            CLAIMS.labels(dataset, queue, "resumed").inc()
            return held
        leased = await tasks.lease_next(conn, user.name, dataset, queue, lease_seconds)
    if leased is None:
        CLAIMS.labels(dataset, queue, "empty").inc()
        return None
    task, previous_holder = leased
    if previous_holder is not None:
        LEASE_EXPIRIES.labels(dataset, queue).inc()
    CLAIMS.labels(dataset, queue, "leased").inc()
    return task
