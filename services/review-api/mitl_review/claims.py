"""Claiming the next task of a queue, with gold items mixed in.

The lock, the resumed lease and the lease of the next review task are one database function
(migrations/005): a claim is one round trip. Only a claim that draws a gold task takes a
transaction of several statements, to pick the person's next gold item under the same lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from mitl_contracts.events import Queue

from mitl_review import metrics
from mitl_review.core.auth import User, check_can_claim, check_dataset
from mitl_review.core.gold import gold_task, serve_gold
from mitl_review.core.leases import LeaseClock
from mitl_review.core.task import Task
from mitl_review.store import gold, tasks


@dataclass(frozen=True)
class GoldMix:
    """How often a claim gets a gold task, the draw that decides it, and the dataset's labels
    (a gold task offers them like any task)."""

    rate: float
    draw: Callable[[], float]
    labels: tuple[str, ...]
    # A span dataset: its gold tasks are span tasks, under its overlap rule.
    span_task: bool = False
    allow_overlap: bool = False


async def claim(
    pool: asyncpg.Pool,
    user: User,
    dataset: str,
    queue: Queue,
    lease_seconds: float,
    mix: GoldMix,
    clock: LeaseClock | None = None,
) -> Task | None:
    """The task `user` should work on next in (dataset, queue), leased to them; None if the
    queue has nothing for them. A caller who already holds a live lease in the queue gets that
    task back unchanged, so reloading the page does not strand a leased task. A share
    `mix.rate` of claims gets one of the caller's unanswered gold items instead, while the
    queue has review work for them (served from an empty queue, a task would stand out).
    Leases are judged and set by `clock` (the database's clock unless a test moved it)."""
    check_can_claim(user, queue)
    check_dataset(user, dataset)
    clock = clock or LeaseClock()
    async with pool.acquire() as conn:
        if serve_gold(mix.rate, mix.draw()):
            async with conn.transaction():
                claimed = await claim_with_gold(
                    conn, user.id, dataset, queue, lease_seconds, mix, clock
                )
        else:
            claimed = await tasks.claim_next(
                conn, user.id, dataset, queue, lease_seconds, clock.offset
            )
    if claimed is None:
        metrics.claims(dataset, queue, "empty").inc()
        return None
    outcome, task, previous_holder = claimed
    if previous_holder is not None:
        metrics.lease_expiries(dataset, queue).inc()
    metrics.claims(dataset, queue, "resumed" if outcome == "resumed" else "leased").inc()
    if outcome == "gold":
        metrics.gold_served(dataset, queue).inc()
    return task


async def claim_with_gold(
    conn: asyncpg.Connection,
    user: str,
    dataset: str,
    queue: Queue,
    lease_seconds: float,
    mix: GoldMix,
    clock: LeaseClock,
) -> tasks.Claimed | None:
    """Inside the caller's transaction (which keeps the claim lock): the held lease if any,
    else a gold task if the queue has work and the person has gold left, else a review task."""
    held = await tasks.held_or_room_for_gold(conn, user, dataset, queue, clock.offset)
    if held is False:
        return None
    if held is not True:
        return held
    chosen = await gold.next_for(conn, user, dataset)
    if chosen is None:
        return await tasks.claim_next(conn, user, dataset, queue, lease_seconds, clock.offset)
    item, now = chosen
    task = gold_task(item, user, queue, mix.labels, now, mix.span_task, mix.allow_overlap)
    leased = await gold.lease(conn, task, lease_seconds, clock.offset)
    return "gold", leased, None
