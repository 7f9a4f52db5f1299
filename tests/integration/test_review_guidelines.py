"""Annotation guidelines against the real broker and Postgres: the datasets file's guidelines
are stored as version 1 at start-up (and not again while unchanged), an admin's PUT makes
version 2, a label submitted after it records version 2 on its event and in the audit log,
and guidelines naming a label the dataset lacks are refused (422 over HTTP; at start-up, the
app is not made)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from mitl_audit.app import create_app as create_audit
from mitl_audit.settings import Settings as AuditSettings
from mitl_contracts import topics
from mitl_contracts.events import Label
from mitl_review import guidelines
from mitl_review.app import create_app
from mitl_review.settings import Settings
from mitl_review.store import tasks, users
from mitl_runtime.localinfra import create_database, drop_database
from pydantic import ValidationError

from tests.integration.test_review import LABELS, publish_requests, review_request
from tests.support import TopicReader, eventually, running_app

pytestmark = pytest.mark.integration

MARKDOWN = "# Question classes\n\nLabel the **kind of answer** a question asks for.\n"


def write_config(folder: Path, dataset: str, guide: str) -> Path:
    """A datasets file: trec6 (other tests publish to it), `dataset` with guidelines (the
    Markdown file beside it, `guide` its label definitions as YAML lines), and a dataset
    without guidelines."""
    (folder / "guidelines").mkdir(exist_ok=True)
    (folder / "guidelines" / f"{dataset}.md").write_text(MARKDOWN)
    lines = [
        "datasets:",
        "  trec6:",
        f"    labels: {LABELS}",
        f"  {dataset}:",
        f"    labels: {LABELS}",
        "    guidelines:",
        f"      file: guidelines/{dataset}.md",
        "      labels:",
        *(f"        {line}" for line in guide.strip().splitlines()),
        f"  {dataset}-bare:",
        f"    labels: {LABELS}",
    ]
    path = folder / "datasets.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


GUIDE = """
HUM:
  description: A person or a group of people.
  examples: ["Who is Desmond Tutu ?", "Who was the first American in space ?"]
LOC:
  description: A place.
  examples: ["What is the capital of Uruguay ?"]
"""


def test_guidelines_naming_a_label_not_in_the_dataset_refuse_start_up(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    path = write_config(tmp_path, "refused", GUIDE + "PERSON:\n  description: a typo\n")
    with pytest.raises(ValidationError, match=r"dataset 'refused'.*'PERSON', not among"):
        create_app(Settings(**{**service_env, "datasets_file": path}))
    (tmp_path / "guidelines" / "refused.md").unlink()
    path = write_config(tmp_path, "unreadable", GUIDE)
    (tmp_path / "guidelines" / "unreadable.md").unlink()
    with pytest.raises(ValueError, match=r"dataset 'unreadable': cannot read its guidelines"):
        create_app(Settings(**{**service_env, "datasets_file": path}))


async def test_versions_from_start_up_and_put_and_labels_record_theirs(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    ds = f"gl-{run}"
    path = write_config(tmp_path, ds, GUIDE)
    kafka = service_env["kafka_bootstrap_servers"]
    audit_db = f"audit_gl_{run}"
    audit_url = await create_database(service_env["database_url"], audit_db)
    review_app = create_app(Settings(**{**service_env, "datasets_file": path}))
    audit_app = create_audit(AuditSettings(**{**service_env, "database_url": audit_url}))
    try:
        async with running_app(audit_app), running_app(review_app) as client:
            pool = review_app.state.review.pool
            admin = await bearer(pool, "admin")
            ann = await bearer(pool, "annotator")

            # Start-up stored the datasets file's guidelines as version 1.
            first = await client.get(f"/v1/datasets/{ds}/guidelines", headers=ann)
            assert first.status_code == 200, first.text
            v1 = first.json()
            assert (v1["dataset"], v1["version"], v1["source"]) == (ds, 1, "config")
            assert v1["markdown"] == MARKDOWN and v1["created_by"] == "datasets file"
            assert v1["labels"] == [
                {
                    "label": "HUM",
                    "description": "A person or a group of people.",
                    "examples": ["Who is Desmond Tutu ?", "Who was the first American in space ?"],
                },
                {
                    "label": "LOC",
                    "description": "A place.",
                    "examples": ["What is the capital of Uruguay ?"],
                },
            ]
            # Start-up again with the file unchanged adds nothing.
            configured = guidelines.configured(review_app.state.review.catalog)
            await guidelines.store_configured(pool, configured)
            versions = await client.get(f"/v1/datasets/{ds}/guidelines/versions", headers=ann)
            assert versions.json()["latest"] == 1

            # A PUT: admins only; a label the dataset lacks is refused naming it.
            put = f"/v1/datasets/{ds}/guidelines"
            edited = {
                "markdown": MARKDOWN + "\n## Tie-breakers\n\n- Organisations are `HUM`.\n",
                "labels": {
                    "HUM": {"description": "A person, group or organisation."},
                    "NUM": {"description": "A number.", "examples": ["How many ?"]},
                },
            }
            forbidden = await client.put(put, json=edited, headers=ann)
            assert forbidden.status_code == 403, forbidden.text
            unknown = {**edited, "labels": {**edited["labels"], "PERSON": {"description": "x"}}}
            refused = await client.put(put, json=unknown, headers=admin)
            assert refused.status_code == 422, refused.text
            assert "'PERSON'" in refused.json()["detail"] and ds in refused.json()["detail"]
            stored = await client.put(put, json=edited, headers=admin)
            assert stored.status_code == 200, stored.text
            v2 = stored.json()
            assert (v2["version"], v2["source"], v2["created"]) == (2, "api", True)
            assert [d["label"] for d in v2["labels"]] == ["HUM", "NUM"]
            again = (await client.put(put, json=edited, headers=admin)).json()
            assert (again["version"], again["created"]) == (2, False)
            # ... and a restart with the unchanged file does not undo the PUT.
            await guidelines.store_configured(pool, configured)

            listed = (await client.get(f"{put}/versions", headers=ann)).json()
            assert listed["latest"] == 2
            assert [v["version"] for v in listed["versions"]] == [2, 1]
            assert listed["versions"][0]["changes"] == {
                "markdown": True,
                "added": ["NUM"],
                "removed": ["LOC"],
                "changed": ["HUM"],
            }
            old = (await client.get(f"{put}/versions/1", headers=ann)).json()
            assert old["markdown"] == MARKDOWN and old["content_sha256"] == v1["content_sha256"]
            missing = await client.get(f"{put}/versions/9", headers=ann)
            assert missing.status_code == 404 and "no guideline version 9" in missing.text
            bare = await client.get(f"/v1/datasets/{ds}-bare/guidelines", headers=ann)
            assert bare.status_code == 404 and "no guidelines yet" in bare.text
            assert (await client.get("/v1/datasets/nope/guidelines", headers=ann)).status_code == (
                404
            )

            # A label submitted now records version 2: in its answer, on its event, in the
            # review table and in the audit log.
            await publish_requests(kafka, [review_request(ds, 1)])

            async def claimed() -> Any:
                response = await client.post(f"/v1/queues/{ds}/annotator/claim", headers=ann)
                return response.json() if response.status_code == 200 else None

            task = await eventually(claimed)
            submitted = await client.post(
                f"/v1/tasks/{task['task_id']}/submit",
                json={"action": "correct", "label": "LOC"},
                headers=ann,
            )
            assert submitted.status_code == 200, submitted.text
            assert submitted.json()["guideline_version"] == 2
            event_id = submitted.json()["label_event_id"]
            async with TopicReader(kafka, topics.LABELS) as reader:
                await reader.wait_for(lambda _: bool(reader.events(Label, event_id=event_id)))
                (label,) = reader.events(Label, event_id=event_id)
            assert (label.label, label.guideline_version) == ("LOC", 2)
            recorded = await pool.fetchval(
                "SELECT guideline_version FROM review.tasks WHERE task_id = $1", task["task_id"]
            )
            assert recorded == 2

            conn = await asyncpg.connect(audit_url)
            try:
                row = await eventually(
                    lambda: conn.fetchrow(
                        "SELECT guideline_version, payload FROM audit.log WHERE event_id = $1",
                        event_id,
                    ),
                    timeout=45,
                )
            finally:
                await conn.close()
            assert row["guideline_version"] == 2
            assert json.loads(row["payload"])["guideline_version"] == 2
    finally:
        await drop_database(service_env["database_url"], audit_db)


async def bearer(pool: asyncpg.Pool, role: str) -> dict[str, str]:
    token = await users.create(pool, f"{role}-{uuid.uuid4().hex[:8]}", role)
    return {"Authorization": f"Bearer {token}"}


async def test_a_claimed_task_is_submitted_without_reading_it_again_unless_it_changed(
    service_env: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission decides on the task its claim handed out (claimed_tasks) and writes in one
    round trip; a newer guideline version, or a task changed by a newer request, makes it read
    the task and answer exactly as it would have."""
    ds = f"gc-{uuid.uuid4().hex[:6]}"
    review_app = create_app(
        Settings(**{**service_env, "datasets_file": write_config(tmp_path, ds, GUIDE)})
    )
    reads: list[str] = []
    read = tasks.read

    async def counted(conn: asyncpg.Connection, task_id: str, *args: Any) -> Any:
        reads.append(task_id)
        return await read(conn, task_id, *args)

    monkeypatch.setattr(tasks, "read", counted)
    async with running_app(review_app) as client:
        pool = review_app.state.review.pool
        admin, ann = await bearer(pool, "admin"), await bearer(pool, "annotator")
        await publish_requests(
            service_env["kafka_bootstrap_servers"], [review_request(ds, n) for n in range(4)]
        )

        async def claim() -> Any:
            response = await client.post(f"/v1/queues/{ds}/annotator/claim", headers=ann)
            return response.json() if response.status_code == 200 else None

        async def submit(task: dict[str, Any], **body: Any) -> Any:
            url = f"/v1/tasks/{task['task_id']}/submit"
            return await client.post(
                url, json={"action": "correct", "label": "LOC", **body}, headers=ann
            )

        async def all_queued() -> bool:
            count = "SELECT count(*) FROM review.tasks WHERE dataset = $1"
            return await pool.fetchval(count, ds) == 4

        # Every request is a task before the first claim: the claims below take them in turn.
        await eventually(all_queued)
        # The first submission reads its task (the database's clock is not known yet) ...
        first = await claim()
        assert (await submit(first)).json()["guideline_version"] == 1
        assert reads == [first["task_id"]]
        # ... the next one does not, and records the same.
        second = await claim()
        answer = await submit(second)
        assert answer.status_code == 200 and answer.json()["guideline_version"] == 1
        assert reads == [first["task_id"]]
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM review.outbox WHERE event_id = $1",
                answer.json()["label_event_id"],
            )
            == 1
        )
        # Guidelines changed after the claim: the label records the version it was made under.
        third = await claim()
        put = await client.put(
            f"/v1/datasets/{ds}/guidelines", json={"markdown": "# New\n"}, headers=admin
        )
        assert put.status_code == 200, put.text
        assert (await submit(third)).json()["guideline_version"] == 2
        assert reads[-1] == third["task_id"]
        # A newer request re-scored the item after the claim: refused as before.
        fourth = await claim()
        n = fourth["item_id"].removeprefix(f"item-{ds}-")
        await publish_requests(
            service_env["kafka_bootstrap_servers"],
            [
                review_request(
                    ds,
                    n,
                    event_id=f"rr-{ds}-{n}b",
                    decision_event_id=f"decision-{ds}-{n}b",
                    suggested_label="LOC",
                    confidence=0.7,
                    occurred_at=(datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
                )
            ],
        )

        async def rescored() -> bool:
            revision = await pool.fetchval(
                "SELECT revision FROM review.tasks WHERE task_id = $1", fourth["task_id"]
            )
            return bool(revision > fourth["revision"])

        await eventually(rescored)
        refused = await submit(fourth, revision=fourth["revision"])
        assert refused.status_code == 409 and "changed after you saw it" in refused.text
        assert reads[-1] == fourth["task_id"]
