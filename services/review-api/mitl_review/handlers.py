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
        accepted: list[Task] = []
        for received in batch:
            try:
                accepted.append(intake.new_task(received.event, self.catalog))
            except (intake.Rejected, UnknownDataset) as error:
                await self.dead_letters.send(received.record, InvalidMessage(str(error), "task"))
        # Items are locked in one order by every replica, so two of them handling overlapping
        # batches during a rebalance cannot deadlock; the sort is stable, so one item's
        # requests keep their order.
        accepted.sort(key=lambda t: (t.dataset, t.requested_queue, t.item_id))
        outcomes: list[tuple[Task, requests.Outcome]] = []
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            for task in accepted:
                assert task.review_event_id is not None  # a request's task names its event
                if await requests.lock_item_and_check_seen(
                    conn, task.review_event_id, task.dataset, task.item_id, task.requested_queue
                ):
                    continue
                current = await requests.open_task(
                    conn, task.dataset, task.item_id, task.requested_queue
                )
                outcome: requests.Outcome
                if current is None:
                    await requests.insert(conn, task)
                    outcome, task_id = "created", task.task_id
                elif (update := refreshed(current, task)) is not None:
                    await requests.update(conn, update)
                    outcome, task_id = "updated", current.task_id
                else:
                    outcome, task_id = "stale", current.task_id
                await requests.record(conn, task.review_event_id, task_id, outcome)
                outcomes.append((task, outcome))
        for task, outcome in outcomes:
            if outcome == "created":
                TASKS_CREATED.labels(task.dataset, task.requested_queue).inc()
            else:
                TASKS_UPDATED.labels(task.dataset, task.requested_queue, outcome).inc()
