"""Review API against the real broker and Postgres: tasks from review requests, claims and
leases, submissions and the label events they publish, auth and error statuses, the UI."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
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

from tests.support import TopicReader, eventually, publish_raw, running_app

pytestmark = pytest.mark.integration

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def write_datasets(path: Path, names: list[str]) -> Path:
    """trec6 (other services' tests publish to it) plus datasets only these tests use."""
    lines = ["datasets:", "  trec6:", f"    labels: {LABELS}"]
    for name in names:
        lines += [f"  {name}:", f"    labels: {LABELS}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def review_request(dataset: str, n: int | str, **overrides: Any) -> dict[str, Any]:
    """A ReviewRequested payload as the router publishes it, suggesting HUM."""
    event: dict[str, Any] = {
        "event_id": f"rr-{dataset}-{n}",
        "dataset": dataset,
        "item_id": f"item-{dataset}-{n}",
        "batch_id": "batch-1",
        "decision_event_id": f"decision-{dataset}-{n}",
        "queue": "annotator",
        "priority": 0.5,
        "reason": "entropy 1.2 above 0.9",
        "content": {"text": f"Who wrote item {n} ?", "metadata": {"source": "quiz"}},
        "suggested_label": "HUM",
        "confidence": 0.55,
        "labels": LABELS,
        "probabilities": [0.05, 0.05, 0.15, 0.55, 0.1, 0.1],
        "model_version": "trec6-m1",
        "policy_version": "test-v1",
    }
    return event | overrides


async def publish_requests(kafka: str, events: list[dict[str, Any]]) -> None:
    """Publish keyed by item id, as the router does, so one item's requests keep their order."""
    for event in events:
        key = str(event.get("item_id", "")).encode() or None
        await publish_raw(kafka, topics.REVIEW_REQUESTED, [json.dumps(event).encode()], key=key)


@dataclass
class Review:
    """The running review API of this module, and ways to set up what a test needs."""

    client: AsyncClient
    app: Any
    kafka: str
    datasets: Iterator[str]
    admin: dict[str, str]

    def dataset(self) -> str:
        """A dataset no other test uses, so queue contents are this test's alone."""
        return next(self.datasets)

    async def user(self, role: str, name: str | None = None) -> dict[str, str]:
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        token = await users.create(self.app.state.review.pool, name, role)
        return {"Authorization": f"Bearer {token}"}

    async def depth(self, dataset: str, queue: str = "annotator") -> int:
        response = await self.client.get("/v1/queues", headers=self.admin)
        assert response.status_code == 200, response.text
        rows = response.json()["queues"]
        return next(r["depth"] for r in rows if (r["dataset"], r["queue"]) == (dataset, queue))

    async def wait_depth(self, dataset: str, expected: int, queue: str = "annotator") -> None:
        async def reached() -> bool:
            return await self.depth(dataset, queue) == expected

        await eventually(reached)

    async def claim(self, headers: dict[str, str], dataset: str, queue: str = "annotator") -> Any:
        return await self.client.post(f"/v1/queues/{dataset}/{queue}/claim", headers=headers)

    async def submit(self, headers: dict[str, str], task_id: str, **body: Any) -> Any:
        return await self.client.post(f"/v1/tasks/{task_id}/submit", json=body, headers=headers)


@pytest.fixture(scope="module")
async def review(
    service_env: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Review]:
    run = uuid.uuid4().hex[:6]
    names = [f"rv-{run}-{i}" for i in range(12)]
    path = write_datasets(tmp_path_factory.mktemp("review") / "datasets.yaml", names)
    app = create_app(Settings(**{**service_env, "datasets_file": path}))
    async with running_app(app) as client:
        review = Review(client, app, service_env["kafka_bootstrap_servers"], iter(names), {})
        review.admin = await review.user("admin")
        yield review


async def test_requests_become_tasks_once_and_are_claimed_by_priority_then_age(
    review: Review,
) -> None:
    ds = review.dataset()
    t0 = datetime.now(UTC) - timedelta(hours=1)
    low_new = review_request(ds, "low-new", priority=0.2, occurred_at=t0.isoformat())
    low_old = review_request(
        ds, "low-old", priority=0.2, occurred_at=(t0 - timedelta(minutes=5)).isoformat()
    )
    high = review_request(ds, "high", priority=0.9, occurred_at=t0.isoformat())
    expert = review_request(ds, "x", queue="expert")
    bad = review_request(ds, "bad", labels=["A", "B"], probabilities=[0.5, 0.5])
    await publish_requests(review.kafka, [low_new, high, low_old, high, expert, bad, high])
    await review.wait_depth(ds, 3)
    await review.wait_depth(ds, 1, queue="expert")

    first = await review.user("annotator")
    response = await review.claim(first, ds)
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["task_id"] == task_id_for(high["event_id"])
    assert task["dataset"] == ds and task["item_id"] == high["item_id"]
    assert task["content"] == {
        "text": "Who wrote item high ?",
        "vector": None,
        "image": None,
        "metadata": {"source": "quiz"},
    }
    assert task["labels"] == LABELS and task["priority"] == 0.9
    assert task["reason"] == high["reason"] and task["lease_expires_at"]
    assert task["suggestion"]["label"] == "HUM" and task["suggestion"]["confidence"] == 0.55
    assert task["suggestion"]["probabilities"]["HUM"] == 0.55
    # Claiming again while the lease lives returns the same task, with the same lease.
    assert (await review.claim(first, ds)).json() == task

    order = []
    for _ in range(2):
        response = await review.claim(await review.user("annotator"), ds)
        order.append(response.json()["item_id"])
    assert order == [low_old["item_id"], low_new["item_id"]]
    assert (await review.claim(await review.user("annotator"), ds)).status_code == 204
    # The event delivered three times made one task; the bad one was dead-lettered.
    assert await review.depth(ds) == 0
    async with TopicReader(review.kafka, topics.dlq(topics.REVIEW_REQUESTED)) as dlq:
        records = await dlq.wait_for(
            lambda rs: any(bad["event_id"].encode() in r.value for r in rs)
        )
    reason = next(dict(r.headers) for r in records if bad["event_id"].encode() in r.value)
    assert "not the label set" in reason["mitl-dlq-reason"].decode()


async def test_concurrent_claimers_never_get_the_same_task(review: Review) -> None:
    ds = review.dataset()
    await publish_requests(review.kafka, [review_request(ds, i) for i in range(10)])
    await review.wait_depth(ds, 10)
    people = [await review.user("annotator") for _ in range(20)]
    responses = await asyncio.gather(*(review.claim(p, ds) for p in people))
    claimed = [r.json()["task_id"] for r in responses if r.status_code == 200]
    assert len(claimed) == 10 and len(set(claimed)) == 10
    assert sorted(r.status_code for r in responses) == [200] * 10 + [204] * 10

    # One person claiming many times at once still holds a single task.
    ds = review.dataset()
    await publish_requests(review.kafka, [review_request(ds, i) for i in range(5)])
    await review.wait_depth(ds, 5)
    eager = await review.user("annotator")
    responses = await asyncio.gather(*(review.claim(eager, ds) for _ in range(8)))
    assert len({r.json()["task_id"] for r in responses}) == 1
    assert await review.depth(ds) == 4


async def test_confirm_and_correct_publish_one_label_each(review: Review) -> None:
    ds = review.dataset()
    shown, corrected, blind = (review_request(ds, n) for n in ("shown", "corrected", "blind"))
    # Priorities fix the claim order: shown, then corrected, then blind.
    shown["priority"], corrected["priority"], blind["priority"] = 0.9, 0.5, 0.1
    blind["hide_suggestion"] = True
    await publish_requests(review.kafka, [shown, corrected, blind])
    await review.wait_depth(ds, 3)
    ann_name = f"ann-{uuid.uuid4().hex[:6]}"
    ann = await review.user("annotator", name=ann_name)

    first = (await review.claim(ann, ds)).json()
    confirm = await review.submit(ann, first["task_id"], action="confirm", time_spent_ms=1500)
    assert confirm.status_code == 200, confirm.text
    assert confirm.json() == {
        "task_id": first["task_id"],
        "status": "done",
        "action": "confirm",
        "label": "HUM",
        "label_event_id": f"label-{first['task_id']}",
        "guideline_version": None,
    }
    again = await review.submit(ann, first["task_id"], action="confirm", time_spent_ms=99)
    assert again.status_code == 200 and again.json() == confirm.json()

    second = (await review.claim(ann, ds)).json()
    correct = await review.submit(ann, second["task_id"], action="correct", label="LOC")
    assert correct.status_code == 200 and correct.json()["label"] == "LOC"
    assert (await review.submit(ann, second["task_id"], action="correct", label="LOC")).json() == (
        correct.json()
    )
    changed = await review.submit(ann, second["task_id"], action="correct", label="NUM")
    assert changed.status_code == 409 and "already completed" in changed.json()["detail"]

    third = (await review.claim(ann, ds)).json()
    assert third["suggestion"] is None
    refused = await review.submit(ann, third["task_id"], action="confirm")
    assert refused.status_code == 422 and "blind" in refused.json()["detail"]
    unknown = await review.submit(ann, third["task_id"], action="correct", label="PERSON")
    assert unknown.status_code == 422
    assert "'PERSON'" in unknown.json()["detail"] and str(LABELS) in unknown.json()["detail"]
    assert (await review.submit(ann, third["task_id"], action="correct", label="HUM")).is_success

    ids = {f"label-{t['task_id']}" for t in (first, second, third)}
    async with TopicReader(review.kafka, topics.LABELS) as reader:
        await reader.wait_for(lambda _: ids <= {e.event_id for e in reader.events(Label)})
        # Read on a little: a second publication of any of them would show up now.
        for records in (await reader.consumer.getmany(timeout_ms=1000)).values():
            reader.records.extend(records)
        labels = [e for e in reader.events(Label) if e.event_id in ids]
    assert len(labels) == 3
    by_item = {e.item_id: e for e in labels}
    confirmed = by_item[shown["item_id"]]
    assert (confirmed.label, confirmed.source, confirmed.action) == ("HUM", "annotator", "confirm")
    assert confirmed.time_spent_ms == 1500 and confirmed.suggestion_shown
    assert confirmed.review_event_id == shown["event_id"] and confirmed.batch_id == "batch-1"
    assert (confirmed.model_version, confirmed.policy_version) == ("trec6-m1", "test-v1")
    assert confirmed.annotator == ann_name
    assert confirmed.role == "annotator" and confirmed.suggested_label == "HUM"
    overridden = by_item[corrected["item_id"]]
    assert (overridden.label, overridden.action) == ("LOC", "correct") and overridden.is_override
    blind_label = by_item[blind["item_id"]]
    assert blind_label.action == "confirm" and not blind_label.suggestion_shown

    me = (await review.client.get("/v1/me", headers=ann)).json()
    assert (me["role"], me["done_today"], me["done_total"]) == ("annotator", 3, 3)
    assert (me["confirmations"], me["corrections"], me["escalations"]) == (2, 1, 0)


async def test_escalated_tasks_go_to_experts_who_resolve_them(review: Review) -> None:
    ds = review.dataset()
    await publish_requests(review.kafka, [review_request(ds, 1)])
    await review.wait_depth(ds, 1)
    ann, expert = await review.user("annotator"), await review.user("expert")
    task = (await review.claim(ann, ds)).json()
    escalated = await review.submit(ann, task["task_id"], action="escalate", comment="ambiguous")
    assert escalated.json() == {
        "task_id": task["task_id"],
        "status": "escalated",
        "action": "escalate",
        "label": None,
        "label_event_id": None,
        "guideline_version": None,
    }
    assert (await review.submit(ann, task["task_id"], action="escalate")).json() == escalated.json()
    assert (await review.claim(ann, ds, "expert")).status_code == 403
    assert await review.depth(ds) == 0 and await review.depth(ds, "expert") == 1

    resolving = (await review.claim(expert, ds, "expert")).json()
    assert resolving["task_id"] == task["task_id"] and resolving["queue"] == "expert"
    assert resolving["escalation"]["comment"] == "ambiguous"
    no_escalation = await review.submit(expert, task["task_id"], action="escalate")
    assert no_escalation.status_code == 403
    resolved = await review.submit(expert, task["task_id"], action="correct", label="ENTY")
    assert resolved.status_code == 200, resolved.text
    async with TopicReader(review.kafka, topics.LABELS) as reader:
        label_id = f"label-{task['task_id']}"
        await reader.wait_for(lambda _: bool(reader.events(Label, event_id=label_id)))
        label = reader.events(Label, event_id=label_id)[0]
    assert (label.label, label.source, label.action, label.role) == (
        "ENTY",
        "expert",
        "resolve",
        "expert",
    )
    me = (await review.client.get("/v1/me", headers=ann)).json()
    assert (me["escalations"], me["done_today"]) == (1, 0)


async def test_skip_gives_the_task_to_someone_else(review: Review) -> None:
    ds = review.dataset()
    await publish_requests(review.kafka, [review_request(ds, 1)])
    await review.wait_depth(ds, 1)
    ann, bob = await review.user("annotator"), await review.user("annotator")
    task = (await review.claim(ann, ds)).json()
    skipped = await review.submit(ann, task["task_id"], action="skip")
    assert skipped.status_code == 200 and skipped.json()["status"] == "skipped"
    assert (await review.submit(ann, task["task_id"], action="skip")).json() == skipped.json()
    assert (await review.claim(ann, ds)).status_code == 204
    assert (await review.claim(bob, ds)).json()["task_id"] == task["task_id"]


async def test_auth_and_error_statuses(review: Review) -> None:
    ds = review.dataset()
    await publish_requests(review.kafka, [review_request(ds, 1), review_request(ds, 2)])
    await review.wait_depth(ds, 2)
    client = review.client

    missing = await client.get("/v1/me")
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and "unknown" in wrong.json()["detail"]
    assert (await client.post(f"/v1/queues/{ds}/annotator/claim")).status_code == 401

    ann, bob = await review.user("annotator"), await review.user("annotator")
    name = f"new-{uuid.uuid4().hex[:6]}"
    forbidden = await client.post("/v1/users", json={"name": name, "role": "expert"}, headers=ann)
    assert forbidden.status_code == 403 and "only an admin" in forbidden.json()["detail"]
    created = await client.post(
        "/v1/users", json={"name": name, "role": "expert"}, headers=review.admin
    )
    assert created.status_code == 201 and created.json()["role"] == "expert"
    token = created.json()["token"]
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == name and me.json()["role"] == "expert"
    duplicate = await client.post(
        "/v1/users", json={"name": name, "role": "annotator"}, headers=review.admin
    )
    assert duplicate.status_code == 409 and name in duplicate.json()["detail"]
    bad_role = await client.post(
        "/v1/users", json={"name": "x", "role": "owner"}, headers=review.admin
    )
    assert bad_role.status_code == 422
    assert (await review.claim(review.admin, ds)).status_code == 403

    unknown_ds = await review.claim(ann, "no-such-dataset")
    assert unknown_ds.status_code == 404 and "unknown dataset" in unknown_ds.json()["detail"]
    assert (await review.claim(ann, ds, "boss")).status_code == 422
    unknown_task = await review.submit(ann, "no-such-task", action="confirm")
    assert unknown_task.status_code == 404 and "no-such-task" in unknown_task.json()["detail"]

    task = (await review.claim(ann, ds)).json()
    theirs = await review.submit(bob, task["task_id"], action="confirm")
    assert theirs.status_code == 409 and "leased by someone else" in theirs.json()["detail"]
    malformed = await client.post(
        f"/v1/tasks/{task['task_id']}/submit",
        content=b"{not json",
        headers={**ann, "content-type": "application/json"},
    )
    assert malformed.status_code == 422
    assert (await review.submit(ann, task["task_id"], action="approve")).status_code == 422
    assert (await review.submit(ann, task["task_id"], action="confirm")).status_code == 200
    done = await review.submit(bob, task["task_id"], action="confirm")
    assert done.status_code == 409 and "already completed by someone else" in done.json()["detail"]


async def test_ui_openapi_and_metrics_are_served(review: Review) -> None:
    page = await review.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = await review.client.get("/static/app.js")
    assert (
        script.status_code == 200 and "keydown" in script.text and "sessionStorage" in script.text
    )
    assert (await review.client.get("/static/app.css")).status_code == 200
    assert "://" not in page.text and "://" not in script.text  # nothing loaded from elsewhere

    openapi = (await review.client.get("/openapi.json")).json()
    for path in ("/v1/queues/{dataset}/{queue}/claim", "/v1/tasks/{task_id}/submit", "/v1/me"):
        assert path in openapi["paths"]
    assert (await review.client.get("/docs")).status_code == 200

    datasets = (await review.client.get("/v1/datasets", headers=review.admin)).json()["datasets"]
    assert {"name": "trec6", "input_kind": "text", "labels": LABELS} in datasets
    metrics = (await review.client.get("/metrics")).text
    for name in (
        "mitl_review_tasks_created_total",
        "mitl_review_claims_total",
        "mitl_review_queue_depth",
    ):
        assert name in metrics
