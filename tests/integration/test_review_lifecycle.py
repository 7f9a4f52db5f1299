"""Review API over time: leases that lapse, labels a crash left in the outbox, and users made
with the `mitl users create` command, against the real broker and Postgres."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mitl_cli.main import main as mitl
from mitl_contracts import topics
from mitl_contracts.events import Label
from mitl_review.app import create_app
from mitl_review.settings import Settings
from mitl_review.store import outbox, users
from mitl_runtime.db import create_pool, migrate
from prometheus_client import REGISTRY

from tests.integration.test_review import publish_requests, review_request, write_datasets
from tests.support import TopicReader, eventually, running_app

pytestmark = pytest.mark.integration


@pytest.fixture
def ds() -> str:
    """A dataset of this test's own."""
    return f"rl-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def settings(service_env: dict[str, Any], tmp_path: Path, ds: str) -> Settings:
    """Settings with the test's dataset and two-second leases."""
    path = write_datasets(tmp_path / "datasets.yaml", [ds])
    return Settings(**{**service_env, "datasets_file": path, "lease_seconds": 2.0})


async def test_an_expired_lease_returns_the_task_to_its_queue(settings: Settings, ds: str) -> None:
    app = create_app(settings)
    async with running_app(app) as client:
        pool = app.state.review.pool
        ann = {"Authorization": f"Bearer {await users.create(pool, f'a-{ds}', 'annotator')}"}
        bob = {"Authorization": f"Bearer {await users.create(pool, f'b-{ds}', 'annotator')}"}
        await publish_requests(settings.kafka_bootstrap_servers, [review_request(ds, 1)])

        async def claimed() -> Any:
            response = await client.post(f"/v1/queues/{ds}/annotator/claim", headers=ann)
            return response.json() if response.status_code == 200 else None

        task = await eventually(claimed)
        assert (
            await client.post(f"/v1/queues/{ds}/annotator/claim", headers=bob)
        ).status_code == 204
        expiries = REGISTRY.get_sample_value(
            "mitl_review_lease_expiries_total", {"dataset": ds, "queue": "annotator"}
        )
        # The lease lapses by the app's lease clock, advanced past it: no waiting.
        app.state.review.clock.advance(2.2)

        late = await client.post(
            f"/v1/tasks/{task['task_id']}/submit", json={"action": "confirm"}, headers=ann
        )
        assert late.status_code == 409 and "expired" in late.json()["detail"]
        taken_over = await client.post(f"/v1/queues/{ds}/annotator/claim", headers=bob)
        assert taken_over.status_code == 200 and taken_over.json()["task_id"] == task["task_id"]
        assert taken_over.json()["lease_expires_at"] > task["lease_expires_at"]
        after = REGISTRY.get_sample_value(
            "mitl_review_lease_expiries_total", {"dataset": ds, "queue": "annotator"}
        )
        assert (after or 0) == (expiries or 0) + 1
        lost = await client.post(
            f"/v1/tasks/{task['task_id']}/submit", json={"action": "confirm"}, headers=ann
        )
        assert lost.status_code == 409 and "leased by someone else" in lost.json()["detail"]
        done = await client.post(
            f"/v1/tasks/{task['task_id']}/submit",
            json={"action": "correct", "label": "NUM"},
            headers=bob,
        )
        assert done.status_code == 200 and done.json()["label"] == "NUM"


async def test_labels_left_in_the_outbox_are_published_at_start_up(
    settings: Settings, ds: str
) -> None:
    """A crash between the commit of a completion and its publication leaves an outbox row;
    the next start publishes it and marks it."""
    event = Label(
        event_id=f"label-crash-{ds}",
        dataset=ds,
        item_id=f"item-{ds}",
        label="LOC",
        source="annotator",
        action="correct",
        annotator="ann",
        role="annotator",
        suggested_label="HUM",
        model_version="trec6-m1",
        occurred_at=datetime.now(UTC),
    )
    pool = await create_pool(settings.database_url)
    try:
        await migrate(pool, "review", "mitl_review")
        async with pool.acquire() as conn:
            await outbox.add(conn, topics.LABELS, event)
        async with running_app(create_app(settings)):
            async with TopicReader(settings.kafka_bootstrap_servers, topics.LABELS) as reader:
                await reader.wait_for(lambda _: bool(reader.events(Label, event_id=event.event_id)))
            assert reader.events(Label, event_id=event.event_id)[0] == event

            async def marked() -> bool:
                return await pool.fetchval(
                    "SELECT published_at IS NOT NULL FROM review.outbox WHERE event_id = $1",
                    event.event_id,
                )

            await eventually(marked)
    finally:
        await pool.close()


async def test_users_create_command_prints_a_working_token(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MITL_DATABASE_URL", settings.database_url)
    name = f"root-{uuid.uuid4().hex[:6]}"
    assert (
        await asyncio.to_thread(mitl, ["users", "create", "--name", name, "--role", "admin"]) == 0
    )
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(token) >= 43 and "shown only once" in err

    assert (
        await asyncio.to_thread(mitl, ["users", "create", "--name", name, "--role", "admin"]) == 1
    )
    assert "already exists" in capsys.readouterr().err
    assert (
        await asyncio.to_thread(mitl, ["users", "create", "--name", "a b", "--role", "expert"]) == 2
    )
    assert "name" in capsys.readouterr().err

    async with running_app(create_app(settings)) as client:
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and (me.json()["name"], me.json()["role"]) == (name, "admin")
        stored = await stored_token_hash(settings, name)
        assert token not in stored and len(stored) == 64


async def stored_token_hash(settings: Settings, name: str) -> str:
    pool = await create_pool(settings.database_url)
    try:
        return await pool.fetchval("SELECT token_sha256 FROM review.users WHERE user_id = $1", name)
    finally:
        await pool.close()
