"""Review requests in, tasks out: the consumer of mitl.review.requested.v1."""

from __future__ import annotations

from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import ReviewRequested
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_review.core import intake
from mitl_review.core.task import Task
from mitl_review.core.updates import refreshed
from mitl_review.metrics import TASKS_CREATED, TASKS_UPDATED
from mitl_review.store import requests


class Intake:
    def __init__(self, runtime: ServiceRuntime, catalog: Catalog, dead_letters: DeadLetters):
        self.runtime = runtime
        self.catalog = catalog
        self.dead_letters = dead_letters

    async def handle(self, batch: list[Received[ReviewRequested]]) -> None:
        """Create a task per new request, or update the open task of its item and queue; an
        event seen before changes nothing, and one that can never become a task is
        dead-lettered with the reason. The batch is written in one transaction, so a failure
        redelivers it with nothing half-done."""
        accepted: list[list[Task]] = []
        for received in batch:
            try:
                accepted.append(intake.new_tasks(received.event, self.catalog))
            except (intake.Rejected, UnknownDataset) as error:
                await self.dead_letters.send(received.record, InvalidMessage(str(error), "task"))
        # Items are locked in one order by every replica, so two of them handling overlapping
        # batches during a rebalance cannot deadlock; the sort is stable, so one item's
        # requests keep their order.
        accepted.sort(key=lambda ts: (ts[0].dataset, ts[0].requested_queue, ts[0].item_id))
        outcomes: list[tuple[Task, requests.Outcome, int]] = []
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            for copies in accepted:
                task = copies[0]
                assert task.review_event_id is not None  # a request's task names its event
                if await requests.lock_item_and_check_seen(
                    conn, task.review_event_id, task.dataset, task.item_id, task.requested_queue
                ):
                    continue
                # Several open tasks only for an overlap item: its copies still to be labeled.
                current = await requests.open_tasks(
                    conn, task.dataset, task.item_id, task.requested_queue
                )
                updates = [u for c in current if (u := refreshed(c, task)) is not None]
                outcome: requests.Outcome
                if not current:
                    for copy in copies:
                        await requests.insert(conn, copy)
                    outcome, task_id, n = "created", task.task_id, len(copies)
                elif updates:
                    for update in updates:
                        await requests.update(conn, update)
                    outcome, task_id, n = "updated", current[0].task_id, len(updates)
                else:
                    outcome, task_id, n = "stale", current[0].task_id, 1
                await requests.record(conn, task.review_event_id, task_id, outcome)
                outcomes.append((task, outcome, n))
        for task, outcome, n in outcomes:
            if outcome == "created":
                TASKS_CREATED.labels(task.dataset, task.requested_queue).inc(n)
            else:
                TASKS_UPDATED.labels(task.dataset, task.requested_queue, outcome).inc()
