"""Ingest against the real broker and Postgres: HTTP and topic, dedup, rejections, DLQ."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.events import ItemIngested, Prediction
from mitl_ingest.app import create_app
from mitl_ingest.settings import Settings

from tests.support import TopicReader, ingest_headers, publish_raw, running_app

pytestmark = pytest.mark.integration


async def test_http_batch_accepts_dedups_and_rejects_per_item(service_env: dict) -> None:
    app = create_app(Settings(**service_env))
    run = uuid.uuid4().hex[:8]
    items = [
        {"external_id": f"{run}-1", "text": "What is the capital of France ?"},
        {"external_id": f"{run}-1", "text": "What is the capital of France ?"},
        {"external_id": f"{run}-2", "vector": [1.0, 2.0]},
        {"external_id": f"{run}-3", "text": "x" * 501},
        {"external_id": f"{run}-4", "text": "   "},
        {"text": "no id"},
        {
            "external_id": f"{run}-5",
            "text": "Who wrote Hamlet ?",
            "prediction": {
                "model_id": "client-m1",
                "labels": ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"],
                "probabilities": [0.0, 0.05, 0.05, 0.8, 0.05, 0.05],
            },
        },
        {
            "external_id": f"{run}-6",
            "text": "Bad client labels",
            "prediction": {"model_id": "m", "labels": ["A", "B"], "probabilities": [0.5, 0.5]},
        },
    ]
    headers = await ingest_headers(service_env["database_url"])
    async with running_app(app, headers) as client:
        response = await client.post("/v1/items", json={"dataset": "trec6", "items": items})
        assert response.status_code == 200, response.text
        body = response.json()
        statuses = [i["status"] for i in body["items"]]
        assert statuses == [
            "accepted",
            "duplicate",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "accepted",
            "rejected",
        ]
        reasons = [i["reason"] or "" for i in body["items"]]
        assert "takes text items, not vector" in reasons[2]
        assert "allows 500" in reasons[3]
        assert "empty" in reasons[4]
        assert "external_id" in reasons[5]
        assert "label set" in reasons[7]

        again = await client.post("/v1/items", json={"dataset": "trec6", "items": items[:1]})
        assert again.json()["items"][0]["status"] == "duplicate"

        unknown = await client.post("/v1/items", json={"dataset": "nope", "items": items[:1]})
        assert unknown.status_code == 404 and "unknown dataset 'nope'" in unknown.text
        malformed = await client.post(
            "/v1/items", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 422

    item_1 = body["items"][0]["item_id"]
    item_5 = body["items"][6]["item_id"]
    async with TopicReader(service_env["kafka_bootstrap_servers"], topics.ITEMS_INGESTED) as r:
        await r.wait_for(lambda _: len(r.events(ItemIngested, item_id=item_5)) >= 1)
        assert len(r.events(ItemIngested, item_id=item_1)) == 1
        assert r.events(ItemIngested, item_id=item_5)[0].scored_by_client
    async with TopicReader(service_env["kafka_bootstrap_servers"], topics.PREDICTIONS) as r:
        await r.wait_for(lambda _: len(r.events(Prediction, item_id=item_5)) == 1)
        prediction = r.events(Prediction, item_id=item_5)[0]
        assert prediction.source == "client" and prediction.top == ("HUM", 0.8)


async def test_raw_topic_dead_letters_bad_events_and_moves_on(service_env: dict) -> None:
    app = create_app(Settings(**service_env))
    run = uuid.uuid4().hex[:8]
    good = {"event_id": f"e-{run}", "dataset": "trec6", "external_id": f"{run}-ok", "text": "Why ?"}
    bad_values = [
        b"{not json",
        json.dumps({"dataset": "trec6", "external_id": f"{run}-v"}).encode(),
        json.dumps({"dataset": "unknown-ds", "external_id": f"{run}-u", "text": "hi"}).encode(),
    ]
    kafka = service_env["kafka_bootstrap_servers"]

    def ours(record: Any) -> bool:
        return run.encode() in record.value or record.value == b"{not json"

    async with running_app(app):
        await publish_raw(kafka, topics.ITEMS_RAW, [*bad_values, json.dumps(good).encode()])
        async with TopicReader(kafka, topics.ITEMS_INGESTED) as ingested:
            await ingested.wait_for(
                lambda _: any(e.external_id == f"{run}-ok" for e in ingested.events(ItemIngested))
            )
        async with TopicReader(kafka, topics.dlq(topics.ITEMS_RAW)) as dlq:
            records = await dlq.wait_for(lambda recs: sum(1 for x in recs if ours(x)) >= 3)
    # Only this test's dead letters: other tests put theirs on the same topic.
    reasons = {dict(r.headers)["mitl-dlq-reason"].decode() for r in records if ours(r)}
    assert any("Invalid JSON" in reason for reason in reasons)
    assert any("exactly one of 'text', 'vector' or 'image'" in reason for reason in reasons)
    assert any("unknown dataset 'unknown-ds'" in reason for reason in reasons)
