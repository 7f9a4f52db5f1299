"""The audit service against the real broker and Postgres: events into the chained log once
each, overrides, dead-lettering, reports and the override list over HTTP."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from httpx import AsyncClient
from mitl_audit.app import create_app
from mitl_audit.settings import Settings
from mitl_cli.main import main as mitl
from mitl_contracts import topics
from mitl_contracts.events import Decision, DriftAlert, Event, Label, ModelPromoted
from mitl_runtime.localinfra import create_database, drop_database

from tests.support import TopicReader, eventually, publish_raw, running_app

pytestmark = pytest.mark.integration
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
LABELED_AT = T0 + timedelta(hours=1)


def decision(dataset: str, n: int, route: str, model: str, batch: str) -> Decision:
    return Decision.model_validate(
        {
            "event_id": f"decision-{dataset}-{n}",
            "dataset": dataset,
            "item_id": f"item-{n}",
            "batch_id": batch,
            "prediction_event_id": f"prediction-{n}",
            "route": route,
            "reason": "test",
            "predicted_label": "A",
            "confidence": 0.95 if route == "accept" else 0.5,
            "model_version": model,
            "policy_version": "p1",
            "occurred_at": T0,
        }
    )


def label(dataset: str, n: int, value: str, **fields: object) -> Label:
    return Label.model_validate(
        {
            "event_id": f"label-{dataset}-{n}",
            "dataset": dataset,
            "item_id": f"item-{n}",
            "label": value,
            "suggested_label": "A",
            "model_version": "m1",
            "policy_version": "p1",
            "occurred_at": LABELED_AT,
        }
        | fields
    )


async def publish(kafka: str, topic: str, events: list[Event]) -> None:
    for event in events:
        key = (getattr(event, "item_id", None) or event.dataset).encode()
        await publish_raw(kafka, topic, [event.model_dump_json().encode()], key=key)


@dataclass
class Audited:
    client: AsyncClient
    dataset: str
    run: str
    database_url: str
    kafka: str


@pytest.fixture(scope="module")
async def audited(service_env: dict) -> AsyncIterator[Audited]:
    """One audit service on a database of its own, fed one dataset's history (with replays
    and bad messages), waited on until everything has landed."""
    run = uuid.uuid4().hex[:8]
    name = f"audit_{run}"
    url = await create_database(service_env["database_url"], name)
    env = {**service_env, "database_url": url}
    kafka = env["kafka_bootstrap_servers"]
    dataset, sentinel = f"audit-{run}", f"audit-{run}-sentinel"
    decisions = [
        decision(dataset, 1, "accept", "m1", "b1"),
        decision(dataset, 2, "review", "m1", "b1"),
        decision(dataset, 3, "review", "m1", "b2"),
        decision(dataset, 4, "escalate", "m2", "b2"),
    ]
    labels = [
        label(dataset, 1, "A", source="model", action="auto_accept"),
        label(dataset, 2, "A", source="annotator", action="confirm", annotator="ada"),
        label(dataset, 3, "B", source="annotator", action="correct", annotator="ada"),
        label(
            dataset, 4, "C", source="expert", action="resolve", annotator="eve", model_version="m2"
        ),
    ]
    bad = [
        f"{{not json {run}".encode(),
        json.dumps({"dataset": dataset, "item_id": "item-2", "source": "annotator"}).encode(),
        label(dataset, 9, "A", source="annotator", action="confirm", annotator="a\x00b")
        .model_dump_json()
        .encode(),
    ]
    async with running_app(create_app(Settings(**env))) as client:
        await publish_raw(kafka, topics.LABELS, bad, key=b"item-2")
        await publish(kafka, topics.DECISIONS, decisions)
        await publish(kafka, topics.LABELS, labels)
        await publish(
            kafka,
            topics.MODELS,
            [ModelPromoted(dataset=dataset, model_version="m2", status="champion")],
        )
        drift = DriftAlert(
            dataset=dataset,
            model_version="m1",
            state="alert",
            statistic="psi",
            value=0.31,
            threshold=0.2,
            window_size=500,
            reference_size=2000,
            details={"bins": [0.1, 0.2, 0.7]},
        )
        await publish(kafka, topics.DRIFT, [drift])
        # Replays, then on the same keys (so the same partitions) events of another dataset:
        # once those are logged, the replays before them have been consumed.
        await publish(kafka, topics.DECISIONS, [decisions[0], decisions[0]])
        await publish(kafka, topics.LABELS, [labels[2]])
        await publish(kafka, topics.DECISIONS, [decision(sentinel, 1, "accept", "m1", "s")])
        await publish(
            kafka, topics.LABELS, [label(sentinel, 3, "A", source="model", action="auto_accept")]
        )
        conn = await asyncpg.connect(url)
        try:
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 2 FROM audit.log WHERE dataset = $1", sentinel
                ),
                timeout=45,
            )
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 10 FROM audit.log WHERE dataset = $1", dataset
                )
            )
        finally:
            await conn.close()
        yield Audited(client, dataset, run, url, kafka)
    await drop_database(service_env["database_url"], name)


async def rows(audited: Audited, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(audited.database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def test_each_event_is_logged_once_with_its_kind(audited: Audited) -> None:
    logged = await rows(
        audited,
        "SELECT kind, count(*) AS n, count(DISTINCT event_id) AS events FROM audit.log"
        " WHERE dataset = $1 GROUP BY kind",
        audited.dataset,
    )
    assert {r["kind"]: (r["n"], r["events"]) for r in logged} == {
        "decision": (4, 4),
        "label": (4, 4),
        "model": (1, 1),
        "drift": (1, 1),
    }
    (accepted,) = await rows(
        audited,
        "SELECT route, model_version, policy_version, predicted_label, confidence,"
        " payload->>'batch_id' AS batch_id, occurred_at FROM audit.log WHERE event_id = $1",
        f"decision-{audited.dataset}-1",
    )
    assert dict(accepted) == {
        "route": "accept",
        "model_version": "m1",
        "policy_version": "p1",
        "predicted_label": "A",
        "confidence": 0.95,
        "batch_id": "b1",
        "occurred_at": T0,
    }


async def test_an_override_row_names_the_model_and_both_labels(audited: Audited) -> None:
    logged = await rows(
        audited,
        "SELECT item_id, is_override, model_version, suggested_label, label, annotator, source,"
        " action FROM audit.log WHERE dataset = $1 AND kind = 'label' ORDER BY item_id",
        audited.dataset,
    )
    overrides = {r["item_id"]: r["is_override"] for r in logged}
    assert overrides == {"item-1": False, "item-2": False, "item-3": True, "item-4": True}
    correction = next(r for r in logged if r["item_id"] == "item-3")
    assert dict(correction) == {
        "item_id": "item-3",
        "is_override": True,
        "model_version": "m1",
        "suggested_label": "A",
        "label": "B",
        "annotator": "ada",
        "source": "annotator",
        "action": "correct",
    }


async def test_bad_label_messages_are_dead_lettered_and_consumption_goes_on(
    audited: Audited,
) -> None:
    async with TopicReader(audited.kafka, topics.dlq(topics.LABELS)) as dlq:
        records = await dlq.wait_for(
            lambda recs: sum(audited.run.encode() in r.value for r in recs) >= 3
        )
    mine = [r for r in records if audited.run.encode() in r.value]
    headers = [{k: v.decode() for k, v in r.headers} for r in mine]
    assert {h["mitl-dlq-service"] for h in headers} == {"audit"}
    reasons = " | ".join(h["mitl-dlq-reason"] for h in headers)
    assert "Invalid JSON" in reasons
    assert "label: Field required" in reasons
    assert "NUL character" in reasons
    # The good label published after them on the same partition was logged.
    assert await rows(
        audited, "SELECT 1 FROM audit.log WHERE event_id = $1", f"label-{audited.dataset}-2"
    )


async def test_report_json_counts_routes_overrides_and_annotators(audited: Audited) -> None:
    response = await audited.client.get(f"/v1/reports/{audited.dataset}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"] == {"from": None, "to": None}
    assert body["decisions"] == {
        "total": 4,
        "accept": 1,
        "review": 2,
        "escalate": 1,
        "auto_accepted_share": 0.25,
        "reviewed_share": 0.5,
        "escalated_share": 0.25,
    }
    assert {k: v["total"] for k, v in body["decisions_by_model_version"].items()} == {
        "m1": 3,
        "m2": 1,
    }
    assert {k: v["review"] for k, v in body["decisions_by_batch"].items()} == {"b1": 1, "b2": 1}
    assert body["labels"] == {
        "total": 4,
        "auto_accepted": 1,
        "human": 3,
        "overrides": 2,
        "override_rate": pytest.approx(2 / 3),
    }
    people = {a["annotator"]: a for a in body["annotators"]}
    assert people["ada"] == {
        "annotator": "ada",
        "labels": 2,
        "confirm": 1,
        "correct": 1,
        "resolve": 0,
        "overrides": 1,
        "confirmation_rate": 0.5,
    }
    assert people["eve"]["resolve"] == 1 and people["eve"]["confirmation_rate"] is None


async def test_report_window_and_csv(audited: Audited) -> None:
    after_decisions = (T0 + timedelta(minutes=30)).isoformat()
    response = await audited.client.get(
        f"/v1/reports/{audited.dataset}", params={"from": after_decisions, "format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    value = {
        (r["section"], r["key"], r["metric"]): r["value"]
        for r in csv.DictReader(io.StringIO(response.text))
    }
    assert value[("decisions", "all", "total")] == "0"
    assert value[("labels", "all", "human")] == "3"
    assert value[("annotator", "ada", "confirmation_rate")] == "0.5"
    before_labels = await audited.client.get(
        f"/v1/reports/{audited.dataset}", params={"to": after_decisions}
    )
    assert before_labels.json()["decisions"]["total"] == 4
    assert before_labels.json()["labels"]["total"] == 0


async def test_report_rejects_unknown_datasets_and_backwards_windows(audited: Audited) -> None:
    unknown = await audited.client.get(f"/v1/reports/nope-{audited.run}")
    assert unknown.status_code == 404 and f"unknown dataset 'nope-{audited.run}'" in unknown.text
    in_catalog = await audited.client.get("/v1/reports/trec6")
    assert in_catalog.status_code == 200
    backwards = await audited.client.get(
        f"/v1/reports/{audited.dataset}",
        params={"from": "2026-05-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
    )
    assert backwards.status_code == 422
    assert "'from' (2026-05-01T00:00:00+00:00) is after 'to'" in backwards.text
    bad_format = await audited.client.get(f"/v1/reports/{audited.dataset}?format=xml")
    assert bad_format.status_code == 422 and "format" in bad_format.text
    bad_time = await audited.client.get(f"/v1/reports/{audited.dataset}?from=yesterday")
    assert bad_time.status_code == 422 and "from" in bad_time.text


async def test_overrides_endpoint_lists_override_rows(audited: Audited) -> None:
    response = await audited.client.get(f"/v1/overrides/{audited.dataset}")
    assert response.status_code == 200, response.text
    listed = response.json()["overrides"]
    assert {
        (o["item_id"], o["model_version"], o["suggested_label"], o["label"], o["annotator"])
        for o in listed
    } == {
        ("item-3", "m1", "A", "B", "ada"),
        ("item-4", "m2", "A", "C", "eve"),
    }
    assert [o["seq"] for o in listed] == sorted((o["seq"] for o in listed), reverse=True)
    one = await audited.client.get(f"/v1/overrides/{audited.dataset}", params={"limit": 1})
    assert len(one.json()["overrides"]) == 1
    assert (await audited.client.get(f"/v1/overrides/{audited.dataset}?limit=0")).status_code == 422
    assert (await audited.client.get(f"/v1/overrides/nope-{audited.run}")).status_code == 404


async def test_metrics_and_a_valid_chain(
    audited: Audited, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = (await audited.client.get("/metrics")).text
    assert f'mitl_audit_overrides_total{{dataset="{audited.dataset}"}} 2.0' in metrics
    assert 'mitl_audit_rows_appended_total{kind="drift"}' in metrics
    (head,) = await rows(audited, "SELECT max(seq) AS seq, count(*) AS n FROM audit.log")
    assert head["seq"] == head["n"]
    assert f"mitl_audit_chain_head_seq {float(head['seq'])}" in metrics
    code = await asyncio.to_thread(
        mitl, ["audit", "verify", "--database-url", audited.database_url]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == f"ok: {head['n']} rows"
