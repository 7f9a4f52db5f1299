"""The tasks this process just handed out, so that their submission can skip reading them again.

A submission read its task, the database's clock and the dataset's latest guideline version
(one round trip), then wrote its decision guarded by the task's state (another). The task a
person submits is nearly always the one this process gave them in their claim a moment before,
so the decision can be made on that copy and written in the same guarded statement, with one
more condition: that the guideline version it records is still the dataset's latest.

The copy may be stale (another replica escalated or skipped the task, a newer request changed
it, the lease lapsed); the guard then fails and the submission takes the ordinary way: read,
decide, write. The guard covers everything a decision depends on: status, lease holder and
expiry, queue, and revision, which every change of the task's content, labels or suggestion
bumps (core.updates). A decision that is not a plain completion on the copy (an error, an
escalation, a skip, a replay) also takes the ordinary way, which answers it as before.

The database's clock: each ordinary read reports the database's time; the difference to this
host's clock is kept, per lease-clock offset, and the copy's decision is made at this host's
time plus that difference. Until a read has reported one, nothing is taken from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mitl_review.core.task import Task

MAX_ENTRIES = 10_000


class ClaimedTasks:
    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self.wall_clock = wall_clock
        self.tasks: dict[str, Task] = {}
        # dataset -> its latest guideline version (None: it has none), as last read.
        self.guideline_versions: dict[str, int | None] = {}
        # The lease clock's offset -> the database's clock minus this host's, as last read.
        self.skews: dict[timedelta, timedelta] = {}

    def remember(self, task: Task) -> None:
        """`task` was just leased to its holder by this process."""
        if len(self.tasks) >= MAX_ENTRIES:
            # Claimed tasks are taken back out when submitted; only abandoned claims pile up.
            self.tasks.clear()
        self.tasks[task.task_id] = task

    def observe(
        self, dataset: str, db_now: datetime, guideline_version: int | None, offset: timedelta
    ) -> None:
        """An ordinary read saw the database's clock and the dataset's guideline version."""
        self.guideline_versions[dataset] = guideline_version
        self.skews[offset] = db_now - self.wall_now()

    def take(
        self, task_id: str, user: str, offset: timedelta
    ) -> tuple[Task, datetime, int | None] | None:
        """The copy of `task_id` leased to `user` (removed from here), the database's time
        and the dataset's guideline version as last seen; None if any of them is unknown."""
        task = self.tasks.get(task_id)
        if task is None or task.lease_holder != user:
            return None
        del self.tasks[task_id]
        skew = self.skews.get(offset)
        if skew is None or task.dataset not in self.guideline_versions:
            return None
        return task, self.wall_now() + skew, self.guideline_versions[task.dataset]

    def wall_now(self) -> datetime:
        return datetime.fromtimestamp(self.wall_clock(), UTC)
