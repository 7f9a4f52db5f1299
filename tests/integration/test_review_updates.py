"""A re-scored item updates its open task instead of adding a second one, against the real broker
and Postgres: the update path, its idempotency, late requests, and a person holding the task."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from mitl_contracts import topics
from mitl_contracts.events import Label
from mitl_review.app import create_app
from mitl_review.core.intake import task_id_for
from mitl_review.settings import Settings
from mitl_review.store import users

from tests.integration.test_review import publish_requests, review_request, write_datasets
from tests.support import TopicReader, eventually, running_app

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC) - timedelta(hours=2)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def rescored(ds: str, n: int | str, event: str, minutes: int, **overrides: Any) -> dict[str, Any]:
    """A new champion's request for item `n`: LOC with model m2, made `minutes` after T0."""
    fields: dict[str, Any] = {
        "event_id": f"rr-{ds}-{n}-{event}",
        "decision_event_id": f"decision-{ds}-{n}-{event}",
        "occurred_at": at(minutes),
        "suggested_label": "LOC",
        "confidence": 0.6,
        "probabilities": [0.05, 0.05, 0.1, 0.1, 0.6, 0.1],
        "model_version": "trec6-m2",
        "policy_version": "test-v2",
    }
    return review_request(ds, n, **(fields | overrides))


class Api:
    def __init__(self, client: AsyncClient, app: Any, kafka: str, ds: str) -> None:
        self.client, self.app, self.kafka, self.ds = client, app, kafka, ds

    async def user(self, role: str = "annotator") -> dict[str, str]:
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        token = await users.create(self.app.state.review.pool, name, role)
        return {"Authorization": f"Bearer {token}"}

    async def claim(self, who: dict[str, str], queue: str = "annotator") -> Any:
        return await self.client.post(f"/v1/queues/{self.ds}/{queue}/claim", headers=who)

    async def submit(self, who: dict[str, str], task_id: str, **body: Any) -> Any:
        return await self.client.post(f"/v1/tasks/{task_id}/submit", json=body, headers=who)

    async def depths(self, admin: dict[str, str]) -> dict[str, int]:
        rows = (await self.client.get("/v1/queues", headers=admin)).json()["queues"]
        return {r["queue"]: r["depth"] + r["leased"] for r in rows if r["dataset"] == self.ds}

    async def outcomes(self) -> dict[str, str]:
        rows = await self.app.state.review.pool.fetch(
            "SELECT event_id, outcome FROM review.requests WHERE event_id LIKE $1",
            f"rr-{self.ds}-%",
        )
        return {r["event_id"]: r["outcome"] for r in rows}


@pytest.fixture
async def api(service_env: dict[str, Any], tmp_path: Path) -> AsyncIterator[Api]:
    ds = f"ru-{uuid.uuid4().hex[:6]}"
    path = write_datasets(tmp_path / "datasets.yaml", [ds])
    app = create_app(Settings(**{**service_env, "datasets_file": path, "gold_rate": 0.0}))
    async with running_app(app) as client:
        yield Api(client, app, service_env["kafka_bootstrap_servers"], ds)


async def test_a_rescored_item_updates_the_task_its_holder_is_looking_at(api: Api) -> None:
    ds = api.ds
    admin, ann = await api.user("admin"), await api.user()
    first = review_request(ds, 1, occurred_at=at(0), priority=0.2)
    await publish_requests(api.kafka, [first])

    async def claimed() -> Any:
        response = await api.claim(ann)
        return response.json() if response.status_code == 200 else None

    seen = await eventually(claimed)
    assert seen["task_id"] == task_id_for(first["event_id"]) and seen["revision"] == 1
    assert seen["suggestion"]["label"] == "HUM"

    newer = rescored(ds, 1, "m2", 10, priority=0.9)
    older = rescored(ds, 1, "m0", 5, suggested_label="NUM", model_version="trec6-m0")
    expert = rescored(ds, 1, "expert", 11, queue="expert")
    # One item's requests share a partition, so once the last is visible all were handled.
    await publish_requests(api.kafka, [newer, newer, older, expert])

    async def expert_task_made() -> bool:
        return (await api.depths(admin)).get("expert") == 1

    await eventually(expert_task_made)
    assert await api.outcomes() == {
        first["event_id"]: "created",
        newer["event_id"]: "updated",
        older["event_id"]: "stale",
        expert["event_id"]: "created",
    }
    assert (await api.depths(admin))["annotator"] == 1  # still one task for the item

    stale = await api.submit(ann, seen["task_id"], action="confirm", revision=1)
    assert stale.status_code == 409 and "changed after you saw it" in stale.json()["detail"]
    again = (await api.claim(ann)).json()
    assert (again["task_id"], again["revision"]) == (seen["task_id"], 2)
    assert again["lease_expires_at"] == seen["lease_expires_at"]  # the lease is untouched
    assert again["suggestion"]["label"] == "LOC" and again["priority"] == 0.9
    assert again["suggestion"]["probabilities"]["LOC"] == 0.6
    done = await api.submit(ann, seen["task_id"], action="confirm", revision=2)
    assert done.status_code == 200 and done.json()["label"] == "LOC"

    label_id = done.json()["label_event_id"]
    async with TopicReader(api.kafka, topics.LABELS) as reader:
        await reader.wait_for(lambda _: bool(reader.events(Label, event_id=label_id)))
    label = reader.events(Label, event_id=label_id)[0]
    assert (label.label, label.action, label.suggested_label) == ("LOC", "confirm", "LOC")
    assert (label.model_version, label.policy_version) == ("trec6-m2", "test-v2")
    assert label.review_event_id == newer["event_id"] and label.item_id == first["item_id"]

    # Once the task is done, a further request for the item is new work: a new task.
    later = rescored(ds, 1, "m3", 20)
    await publish_requests(api.kafka, [later])

    async def new_task_made() -> bool:
        return (await api.outcomes()).get(later["event_id"]) == "created"

    await eventually(new_task_made)
    fresh = (await api.claim(await api.user())).json()
    assert fresh["task_id"] == task_id_for(later["event_id"]) and fresh["revision"] == 1


async def test_an_update_moves_a_waiting_task_up_the_queue(api: Api) -> None:
    ds = api.ds
    ahead = review_request(ds, "a", priority=0.5, occurred_at=at(0))
    behind = review_request(ds, "b", priority=0.4, occurred_at=at(0))
    await publish_requests(api.kafka, [ahead, behind])
    bumped = rescored(ds, "b", "urgent", 30, priority=0.95)
    await publish_requests(api.kafka, [bumped])

    async def handled() -> bool:
        outcomes = await api.outcomes()
        return outcomes.get(bumped["event_id"]) == "updated" and ahead["event_id"] in outcomes

    await eventually(handled)
    first = (await api.claim(await api.user())).json()
    assert first["task_id"] == task_id_for(behind["event_id"]) and first["revision"] == 2
    assert first["priority"] == 0.95 and first["suggestion"]["label"] == "LOC"
    second = (await api.claim(await api.user())).json()
    assert second["task_id"] == task_id_for(ahead["event_id"]) and second["revision"] == 1
