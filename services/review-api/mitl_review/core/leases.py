"""Lease rules. A lease is a holder and an expiry; it counts only while unexpired, so an expired
lease puts the task back in its queue, claimable by anyone (its former holder included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mitl_review.core.errors import Conflict
from mitl_review.core.task import Task

LeaseState = Literal["free", "mine", "expired_mine", "theirs"]

NO_OFFSET = timedelta(0)


@dataclass
class LeaseClock:
    """The time leases are judged by: the database's clock (one clock for every replica)
    moved by `offset`. In service the offset stays zero; a test advances the clock to let a
    lease lapse at once instead of waiting for it. Every statement that sets or checks a
    lease takes the offset as a parameter (`now() + offset`)."""

    offset: timedelta = NO_OFFSET

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def lease_expiry(now: datetime, lease_seconds: float) -> datetime:
    return now + timedelta(seconds=lease_seconds)


def lease_state(task: Task, user: str, now: datetime) -> LeaseState:
    """How `task`'s lease stands for `user` at `now`. A lapsed lease of someone else is free."""
    expires = task.lease_expires_at
    if task.lease_holder is None or expires is None:
        return "free"
    live = expires > now
    if task.lease_holder == user:
        return "mine" if live else "expired_mine"
    return "theirs" if live else "free"


def require_lease(task: Task, user: str, now: datetime) -> None:
    """Raise Conflict, saying why, unless `user` holds a live lease on `task`."""
    state = lease_state(task, user, now)
    if state == "mine":
        return
    if state == "expired_mine":
        raise Conflict(
            f"your lease on task {task.task_id} expired at "
            f"{task.lease_expires_at:%Y-%m-%dT%H:%M:%SZ}; the task went back to its queue, "
            "claim it again"
        )
    if state == "theirs":
        raise Conflict(f"task {task.task_id} is leased by someone else")
    raise Conflict(f"you do not hold a lease on task {task.task_id}; claim it first")
