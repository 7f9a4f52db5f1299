"""Inference and router against the real broker: items in, predictions, decisions, review
requests and pseudo-labels out; bad events dead-lettered; a drift alert tightens routing."""

from __future__ import annotations

import json
import uuid

import pytest
from mitl_contracts import topics
from mitl_contracts.events import (
    Decision,
    DriftAlert,
    ItemContent,
    ItemIngested,
    Label,
    Prediction,
    ReviewRequested,
)
from mitl_inference.app import create_app as inference_app
from mitl_inference.settings import Settings as InferenceSettings
from mitl_router.app import create_app as router_app
from mitl_router.settings import Settings as RouterSettings

from tests.support import TopicReader, eventually, publish_events, publish_raw, running_app

pytestmark = pytest.mark.integration

QUESTIONS = [
    "What is the capital of Italy ?",
    "Who invented the telephone ?",
    "How many feet are in a mile ?",
    "What does CIA stand for ?",
    "Why is the sky blue ?",
    "What color is a giraffe 's tongue ?",
]


def ingested(run: str, i: int, text: str, **metadata: str) -> ItemIngested:
    return ItemIngested(
        event_id=f"ing-{run}-{i}",
        dataset="trec6",
        item_id=f"{run}-{i}",
        external_id=f"x{i}",
        batch_id=f"b-{run}",
        content=ItemContent(text=text, metadata=metadata),
    )


async def test_items_are_scored_and_routed(service_env: dict) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    items = [ingested(run, i, q) for i, q in enumerate(QUESTIONS)]
    items.append(ingested(run, 99, "What is the treatment for flu ?", domain="medical"))
    bad_vector = ingested(run, 100, "x").model_copy(
        update={"content": ItemContent(vector=[1.0, 2.0])}
    )
    async with (
        running_app(inference_app(InferenceSettings(**service_env))),
        running_app(router_app(RouterSettings(**service_env))),
    ):
        await publish_events(kafka, topics.ITEMS_INGESTED, [*items, bad_vector])
        await publish_raw(kafka, topics.ITEMS_INGESTED, [b'{"dataset": "trec6"}'])
        # Delivered twice: the same predictions and decisions come out, with the same ids.
        await publish_events(kafka, topics.ITEMS_INGESTED, items[:2])
        async with TopicReader(kafka, topics.DECISIONS) as decisions:
            await decisions.wait_for(
                lambda _: (
                    len({d.item_id for d in decisions.events(Decision) if run in d.item_id})
                    == len(items)
                )
            )
        async with TopicReader(kafka, topics.PREDICTIONS) as predictions:
            await predictions.wait_for(
                lambda _: (
                    len([p for p in predictions.events(Prediction) if run in p.item_id])
                    >= len(items)
                )
            )
        async with TopicReader(kafka, topics.dlq(topics.ITEMS_INGESTED)) as dlq:
            records = await dlq.wait_for(
                lambda recs: (
                    any(run.encode() in r.value for r in recs)
                    and any(r.value == b'{"dataset": "trec6"}' for r in recs)
                )
            )
    mine = [p for p in predictions.events(Prediction) if run in p.item_id]
    assert {p.event_id for p in mine} == {
        f"prediction-{i.item_id}-{mine[0].model_version}" for i in items
    }
    for p in mine:
        assert p.labels == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
        assert abs(sum(p.probabilities) - 1) < 1e-6 and p.model_version.startswith("trec6-minilm")
    routes = {d.item_id: d for d in decisions.events(Decision) if run in d.item_id}
    assert routes[f"{run}-99"].route == "escalate"
    assert "metadata domain=medical" in routes[f"{run}-99"].reason
    reasons = [dict(r.headers)["mitl-dlq-reason"].decode() for r in records]
    assert any("takes text items, not vector" in reason for reason in reasons)
    assert any("Field required" in reason for reason in reasons)

    async with (
        TopicReader(kafka, topics.REVIEW_REQUESTED) as reviews,
        TopicReader(kafka, topics.LABELS) as labels,
    ):
        expect_reviews = {i for i, d in routes.items() if d.route != "accept"}
        expect_labels = {i for i, d in routes.items() if d.route == "accept"}
        await reviews.wait_for(
            lambda _: {r.item_id for r in reviews.events(ReviewRequested)} >= expect_reviews
        )
        await labels.wait_for(lambda _: {x.item_id for x in labels.events(Label)} >= expect_labels)
    escalated = [r for r in reviews.events(ReviewRequested) if r.item_id == f"{run}-99"]
    assert escalated[0].queue == "expert"


async def test_router_dead_letters_predictions_outside_the_label_set(service_env: dict) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    bad = {
        "event_id": f"p-{run}",
        "dataset": "trec6",
        "item_id": f"{run}-bad",
        "content": {"text": "hi"},
        "model_version": "m",
        "labels": ["A", "B"],
        "probabilities": [0.5, 0.5],
    }
    not_normalised = {**bad, "event_id": f"p2-{run}", "probabilities": [0.9, 0.9]}
    async with running_app(router_app(RouterSettings(**service_env))):
        await publish_raw(
            kafka,
            topics.PREDICTIONS,
            [json.dumps(bad).encode(), json.dumps(not_normalised).encode()],
        )
        async with TopicReader(kafka, topics.dlq(topics.PREDICTIONS)) as dlq:
            records = await dlq.wait_for(
                lambda recs: sum(run.encode() in r.value for r in recs) >= 2
            )
    reasons = [
        dict(r.headers)["mitl-dlq-reason"].decode() for r in records if run.encode() in r.value
    ]
    assert any("not dataset 'trec6''s label set" in reason for reason in reasons)
    assert any("sum to 1.800000, not 1" in reason for reason in reasons)


async def test_drift_alert_tightens_and_clear_restores_policy(service_env: dict) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    app = router_app(RouterSettings(**service_env))
    run = uuid.uuid4().hex[:8]

    def alert(state: str, n: int) -> DriftAlert:
        return DriftAlert(
            event_id=f"drift-{run}-{n}",
            dataset="trec6",
            model_version="m",
            state=state,
            statistic=f"confidence_psi_{run}",
            value=0.4,
            threshold=0.2,
            window_size=10,
            reference_size=10,
        )

    async with running_app(app) as client:

        async def drift_active() -> bool:
            return (await client.get("/v1/policies")).json()["trec6"]["drift_active"]

        await publish_events(kafka, topics.DRIFT, [alert("alert", 1)])
        await eventually(drift_active)
        policy = (await client.get("/v1/policies")).json()["trec6"]["policy"]
        assert policy["version"] == "test-v1+drift" and policy["accept_threshold"] == pytest.approx(
            0.75
        )
        await publish_events(kafka, topics.DRIFT, [alert("clear", 2)])

        async def cleared() -> bool:
            return not await drift_active()

        await eventually(cleared)
