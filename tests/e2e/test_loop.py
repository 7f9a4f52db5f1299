"""The whole loop, every service its own process, over the real broker and Postgres:
items in; some auto-accepted, some queued for review; an annotator corrects one over HTTP;
the audit log holds the override with the model version and both labels; the drift monitor
exports its statistic; the chain verifies; one trace follows the items through every
service."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest
from mitl_cli.feed import pool_items
from mitl_cli.stack import DEV_CLIENT, LocalStack

from tests.e2e.loop import claim, create_user
from tests.support import wait_until

pytestmark = pytest.mark.e2e
ITEMS = 60


@pytest.fixture
def stack(task_stack: LocalStack) -> LocalStack:
    """The e2e package's stack (conftest.task_stack), whose trec6 dataset this module uses."""
    return task_stack


async def item_clients(database_url: str, dataset: str) -> dict[str | None, int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT client_id, count(*) AS n FROM audit.items WHERE dataset = $1 GROUP BY 1",
            dataset,
        )
    finally:
        await conn.close()
    return {r["client_id"]: r["n"] for r in rows}


def test_items_flow_to_labels_reviews_and_an_audited_override(stack: LocalStack) -> None:
    items = list(pool_items("trec6", limit=ITEMS))
    body = {"dataset": "trec6", "items": items}
    # Without credentials: ingest, audit's reports and export, the trainer's retrain all 401.
    for method, url in (
        ("POST", f"{stack.url('ingest')}/v1/items"),
        ("GET", f"{stack.url('audit')}/v1/reports/trec6"),
        ("GET", f"{stack.url('audit')}/v1/export/trec6"),
        ("POST", f"{stack.url('trainer')}/v1/retrain/trec6"),
    ):
        refused = httpx.request(method, url, json=body, timeout=30)
        assert refused.status_code == 401, (url, refused.text)
        assert "missing credentials" in refused.json()["detail"]
    ingest = stack.ingest_headers
    response = httpx.post(f"{stack.url('ingest')}/v1/items", json=body, headers=ingest, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == ITEMS
    # The same batch again: all duplicates, nothing new flows.
    again = httpx.post(f"{stack.url('ingest')}/v1/items", json=body, headers=ingest, timeout=30)
    assert again.json()["duplicates"] == ITEMS

    def report() -> dict | None:
        url = f"{stack.url('audit')}/v1/reports/trec6"
        found = httpx.get(url, headers=stack.auditor_headers, timeout=10).json()
        return found if found["decisions"]["total"] >= ITEMS else None

    summary = wait_until(report, timeout=120)
    routes = summary["decisions"]
    assert routes["total"] == ITEMS  # one decision per item, none doubled
    assert routes["accept"] > 0 and routes["review"] > 0

    token = create_user(stack, f"ada-{uuid.uuid4().hex[:6]}", "annotator")
    auth = {"Authorization": f"Bearer {token}"}
    task = claim(stack, "trec6", auth)
    suggested = task["suggestion"]["label"]
    corrected = next(label for label in task["labels"] if label != suggested)
    submit = httpx.post(
        f"{stack.url('review-api')}/v1/tasks/{task['task_id']}/submit",
        headers=auth,
        json={"action": "correct", "label": corrected, "time_spent_ms": 1500},
    )
    assert submit.status_code == 200, submit.text

    def override() -> dict | None:
        url = f"{stack.url('audit')}/v1/overrides/trec6"
        rows = httpx.get(url, headers=stack.auditor_headers, timeout=10).json()["overrides"]
        return next((r for r in rows if r["item_id"] == task["item_id"]), None)

    row = wait_until(override, timeout=60)
    assert row["suggested_label"] == suggested and row["label"] == corrected
    assert row["model_version"].startswith("trec6-minilm")

    # Every item names the client that sent it, in the export's source table (audit.items).
    def senders() -> dict[str | None, int] | None:
        found = asyncio.run(item_clients(stack.database_url, "trec6"))
        return found if sum(found.values()) >= ITEMS else None

    assert wait_until(senders, timeout=60) == {DEV_CLIENT: ITEMS}

    def drift_metric() -> bool:
        text = httpx.get(f"{stack.url('drift-monitor')}/metrics", timeout=10).text
        return "mitl_drift_statistic{" in text

    wait_until(drift_metric, timeout=60)
    for name in stack.services:
        metrics = httpx.get(f"{stack.url(name)}/metrics", timeout=10)
        assert metrics.status_code == 200 and "mitl_" in metrics.text

    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "mitl_cli.main",
            "audit",
            "verify",
            "--database-url",
            stack.database_url,
        ],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_one_trace_follows_the_items_through_every_service(stack: LocalStack) -> None:
    """The ingest request's trace context rides the Kafka headers: the items it accepted are
    processed under the same trace by every service that consumes them."""
    spans_file = stack.workdir / "spans.jsonl"
    services = {"ingest", "inference", "router", "review-api", "audit", "drift-monitor", "trainer"}

    def traces() -> dict[str, set[str]] | None:
        if not spans_file.exists():
            return None
        by_trace: dict[str, set[str]] = {}
        for line in spans_file.read_text().splitlines():
            span = json.loads(line)
            service = span["resource"]["attributes"]["service.name"]
            by_trace.setdefault(span["context"]["trace_id"], set()).add(service)
        full = {t: s for t, s in by_trace.items() if s >= services}
        return full or None

    found = wait_until(traces, timeout=60)
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    trace_id = next(iter(found))
    in_trace = [s for s in spans if s["context"]["trace_id"] == trace_id]
    roots = [s for s in in_trace if s["parent_id"] is None]
    # One root: the ingest request; every other span hangs off a span of the same trace.
    assert [(r["resource"]["attributes"]["service.name"], r["name"]) for r in roots] == [
        ("ingest", "POST /v1/items")
    ]
    ids = {s["context"]["span_id"] for s in in_trace}
    assert all(s["parent_id"] in ids for s in in_trace if s["parent_id"] is not None)
    consumed = {
        (s["resource"]["attributes"]["service.name"], s["attributes"]["messaging.destination.name"])
        for s in in_trace
        if s["kind"] == "SpanKind.CONSUMER"
    }
    assert ("inference", "mitl.items.ingested.v1") in consumed
    assert ("router", "mitl.predictions.v1") in consumed
    assert ("review-api", "mitl.review.requested.v1") in consumed
    assert ("audit", "mitl.decisions.v1") in consumed
