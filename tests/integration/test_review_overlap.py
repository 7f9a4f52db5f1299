"""Overlap items against the real broker and Postgres: an item of the overlap sample is labeled
by two different annotators, each label published; nobody labels it twice and a third person
gets nothing once it is done; with the router, their different labels send it to an expert.
Skips, updates by newer requests and lapsed leases work per copy."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, Label, Prediction, ReviewRequested
from mitl_policy.requests import disagreement_event_id
from mitl_review.app import create_app as create_review
from mitl_review.settings import Settings as ReviewSettings
from mitl_review.store import users
from mitl_router.app import create_app as create_router
from mitl_router.settings import Settings as RouterSettings

from tests.integration.test_review import LABELS, publish_requests, review_request, write_datasets
from tests.support import TopicReader, eventually, publish_events, running_app

pytestmark = pytest.mark.integration

# Everything between the floor and 0.99 is reviewed; every reviewed item goes to two people.
POLICY = """
    labels: [A, B, C]
    policy:
      version: overlap-v1
      accept_threshold: 0.99
      escalation_floor: 0.1
      overlap_rate: 1.0
      overlap_annotators: 2
"""


@pytest.fixture
def env(service_env: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    dataset = f"ov_{uuid.uuid4().hex[:6]}"
    path = tmp_path / "datasets.yaml"
    path.write_text(f"datasets:\n  {dataset}:{POLICY}")
    return service_env | {"datasets_file": path, "dataset": dataset}


def prediction(dataset: str, item: str) -> Prediction:
    return Prediction(
        event_id=f"pred-{item}",
        dataset=dataset,
        item_id=item,
        content=ItemContent(text=f"text of {item}"),
        model_version="m1",
        labels=["A", "B", "C"],
        probabilities=[0.6, 0.3, 0.1],
    )


async def test_two_annotators_label_an_overlap_item_and_their_disagreement_escalates(
    env: dict[str, Any],
) -> None:
    dataset = env.pop("dataset")
    kafka = env["kafka_bootstrap_servers"]
    item = f"{dataset}-item"
    review_app = create_review(ReviewSettings(**env))
    async with (
        running_app(create_router(RouterSettings(**env))),
        running_app(review_app) as client,
    ):
        pool = review_app.state.review.pool

        run = uuid.uuid4().hex[:6]
        names = {who: f"{who}-{run}" for who in ("ada", "bob", "cyd", "eve")}

        async def person(who: str, role: str = "annotator") -> dict[str, str]:
            token = await users.create(pool, names[who], role)
            return {"Authorization": f"Bearer {token}"}

        ada, bob, cyd, eve = [await person(w) for w in ("ada", "bob", "cyd")] + [
            await person("eve", "expert")
        ]

        async def claim(who: dict[str, str], queue: str = "annotator") -> Any:
            return await client.post(f"/v1/queues/{dataset}/{queue}/claim", headers=who)

        async def submit(who: dict[str, str], task_id: str, label: str) -> Any:
            body = {"action": "correct", "label": label}
            return await client.post(f"/v1/tasks/{task_id}/submit", json=body, headers=who)

        await publish_events(kafka, topics.PREDICTIONS, [prediction(dataset, item)])

        async def claimed_by_ada() -> Any:
            response = await claim(ada)
            return response.json() if response.status_code == 200 else None

        first = await eventually(claimed_by_ada)
        assert first["item_id"] == item
        # Claiming again, ada gets her task back, not the item's second task.
        assert (await claim(ada)).json()["task_id"] == first["task_id"]
        second = (await claim(bob)).json()
        assert second["item_id"] == item and second["task_id"] != first["task_id"]
        # Both of the item's tasks are leased: nothing for a third person.
        assert (await claim(cyd)).status_code == 204

        labeled = [
            await submit(ada, first["task_id"], "A"),
            await submit(bob, second["task_id"], "B"),
        ]
        assert [r.status_code for r in labeled] == [200, 200], [r.text for r in labeled]
        # Done by two people: nobody gets the item again, ada included.
        assert (await claim(cyd)).status_code == 204
        assert (await claim(ada)).status_code == 204

        # Each label is published as a human label of its own.
        async with TopicReader(kafka, topics.LABELS) as labels:
            await labels.wait_for(lambda _: len(labels.events(Label, item_id=item)) == 2)
        published = labels.events(Label, item_id=item)
        assert {(e.annotator, e.label, e.source) for e in published} == {
            (names["ada"], "A", "annotator"),
            (names["bob"], "B", "annotator"),
        }
        assert {e.event_id for e in published} == {r.json()["label_event_id"] for r in labeled}

        # The router sees two annotators disagree and sends the item to an expert.
        async with TopicReader(kafka, topics.REVIEW_REQUESTED) as requests:
            await requests.wait_for(
                lambda _: bool(
                    requests.events(ReviewRequested, event_id=disagreement_event_id(dataset, item))
                )
            )

        async def claimed_by_eve() -> Any:
            response = await claim(eve, "expert")
            return response.json() if response.status_code == 200 else None

        expert_task = await eventually(claimed_by_eve)
    assert expert_task["item_id"] == item and expert_task["queue"] == "expert"
    assert expert_task["reason"] == "annotators disagree: A, B"
    assert expert_task["suggestion"] is None


async def test_overlap_copies_follow_skips_updates_and_lapsed_leases(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    """A person who skipped one copy gets none; a newer request updates every open copy; a
    lapsed lease frees its copy for someone who has not labeled the item."""
    ds = f"ovr-{uuid.uuid4().hex[:6]}"
    path = write_datasets(tmp_path / "datasets.yaml", [])
    path.write_text(
        path.read_text()
        + f"  {ds}:\n    labels: {LABELS}\n"
        + "    policy: {overlap_rate: 1.0, overlap_annotators: 2}\n"
    )
    settings = ReviewSettings(**{**service_env, "datasets_file": path, "lease_seconds": 2.0})
    app = create_review(settings)
    async with running_app(app) as client:
        pool = app.state.review.pool

        async def person() -> dict[str, str]:
            token = await users.create(pool, f"a-{uuid.uuid4().hex[:8]}", "annotator")
            return {"Authorization": f"Bearer {token}"}

        ada, bob, cyd, dan = [await person() for _ in range(4)]

        async def claim(who: dict[str, str]) -> Any:
            return await client.post(f"/v1/queues/{ds}/annotator/claim", headers=who)

        async def submit(who: dict[str, str], task_id: str, **body: Any) -> Any:
            return await client.post(f"/v1/tasks/{task_id}/submit", json=body, headers=who)

        async def depth() -> int:
            rows = (await client.get("/v1/queues", headers=ada)).json()["queues"]
            return next(r["depth"] for r in rows if (r["dataset"], r["queue"]) == (ds, "annotator"))

        await publish_requests(settings.kafka_bootstrap_servers, [review_request(ds, 1)])

        async def two_waiting() -> bool:
            return await depth() == 2

        await eventually(two_waiting)

        skipped = (await claim(ada)).json()
        assert (await submit(ada, skipped["task_id"], action="skip")).status_code == 200
        assert (await claim(ada)).status_code == 204

        newer = review_request(
            ds,
            1,
            event_id=f"rr-{ds}-1-m2",
            suggested_label="LOC",
            probabilities=[0.05, 0.05, 0.15, 0.1, 0.55, 0.1],
        )
        await publish_requests(settings.kafka_bootstrap_servers, [newer])

        async def revised() -> list[Any] | None:
            rows = await pool.fetch(
                "SELECT revision, suggested_label FROM review.tasks WHERE dataset = $1", ds
            )
            return rows if [tuple(r) for r in rows] == [(2, "LOC"), (2, "LOC")] else None

        await eventually(revised)

        first = (await claim(bob)).json()
        second = (await claim(cyd)).json()
        assert first["suggestion"]["label"] == second["suggestion"]["label"] == "LOC"
        assert first["task_id"] != second["task_id"]
        done = await submit(bob, first["task_id"], action="confirm", revision=2)
        assert done.status_code == 200, done.text
        app.state.review.clock.advance(2.2)
        # cyd's lease lapsed: bob labeled the item already, dan has not.
        assert (await claim(bob)).status_code == 204
        taken_over = await claim(dan)
        assert taken_over.status_code == 200 and taken_over.json()["task_id"] == second["task_id"]
        late = await submit(cyd, second["task_id"], action="confirm")
        assert late.status_code == 409 and "leased by someone else" in late.json()["detail"]
        closed = await submit(dan, second["task_id"], action="correct", label="NUM")
        assert closed.status_code == 200, closed.text
        assert await depth() == 0
