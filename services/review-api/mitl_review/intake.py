"""Review requests in, tasks out: the consumer of mitl.review.requested.v1."""

from __future__ import annotations

from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import ReviewRequested
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import DeadLetters, InvalidMessage
from mitl_runtime.service import ServiceRuntime

from mitl_review.core import intake
from mitl_review.core.task import Task
from mitl_review.metrics import TASKS_CREATED
from mitl_review.store import tasks


class Intake:
    def __init__(self, runtime: ServiceRuntime, catalog: Catalog, dead_letters: DeadLetters):
        self.runtime = runtime
        self.catalog = catalog
        self.dead_letters = dead_letters

    async def handle(self, batch: list[Received[ReviewRequested]]) -> None:
        """Create one task per new event; an event seen before changes nothing, and one that can
        never become a task is dead-lettered with the reason. The batch is written in one
        transaction, so a failure redelivers it with nothing half-done."""
        accepted: list[Task] = []
        for received in batch:
            try:
                accepted.append(intake.new_task(received.event, self.catalog))
            except (intake.Rejected, UnknownDataset) as error:
                await self.dead_letters.send(received.record, InvalidMessage(str(error), "task"))
        created: list[Task] = []
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            for task in accepted:
                if await tasks.insert(conn, task):
                    created.append(task)
        for task in created:
            TASKS_CREATED.labels(task.dataset, task.queue).inc()
