"""Client-side models: a client pushes its own prediction with the item through ingest; it
reaches the router as a `client` prediction and inference leaves the item alone, while the
items without one are scored by the platform's model. All three services, real broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mitl_contracts import topics
from mitl_contracts.events import Decision, Prediction
from mitl_inference.app import create_app as inference_app
from mitl_inference.settings import Settings as InferenceSettings
from mitl_ingest.app import create_app as ingest_app
from mitl_ingest.settings import Settings as IngestSettings
from mitl_router.app import create_app as router_app
from mitl_router.settings import Settings as RouterSettings

from tests.support import TopicReader, ingest_headers, running_app

pytestmark = pytest.mark.integration
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


async def test_client_predictions_are_routed_and_not_rescored(
    service_env: dict[str, object], tmp_path: Path
) -> None:
    kafka = str(service_env["kafka_bootstrap_servers"])
    run = uuid.uuid4().hex[:8]
    confident = [0.01, 0.01, 0.01, 0.95, 0.01, 0.01]
    unsure = [0.2, 0.3, 0.1, 0.2, 0.1, 0.1]
    items = [
        {
            "external_id": f"{run}-c1",
            "text": "Who wrote Hamlet ?",
            "prediction": {"model_id": "crm-v7", "labels": LABELS, "probabilities": confident},
        },
        {
            "external_id": f"{run}-c2",
            "text": "What is a mole ?",
            # The client's label order need not be the dataset's.
            "prediction": {
                "model_id": "crm-v7",
                "labels": list(reversed(LABELS)),
                "probabilities": list(reversed(unsure)),
            },
        },
        {"external_id": f"{run}-p1", "text": "How tall is the Eiffel Tower ?"},
    ]
    inference = InferenceSettings(**(service_env | {"artifact_dir": tmp_path}))
    async with (
        running_app(
            ingest_app(IngestSettings(**service_env)),
            await ingest_headers(service_env["database_url"]),
        ) as ingest,
        running_app(inference_app(inference)),
        running_app(router_app(RouterSettings(**service_env))),
    ):
        response = await ingest.post("/v1/items", json={"dataset": "trec6", "items": items})
        assert response.status_code == 200 and response.json()["accepted"] == 3
        ids = {i["external_id"].split("-")[-1]: i["item_id"] for i in response.json()["items"]}
        async with TopicReader(kafka, topics.DECISIONS) as decisions:
            await decisions.wait_for(
                lambda _: {d.item_id for d in decisions.events(Decision)} >= set(ids.values()),
                timeout=60,
            )
        async with TopicReader(kafka, topics.PREDICTIONS) as predictions:
            await predictions.wait_for(
                lambda _: {p.item_id for p in predictions.events(Prediction)} >= set(ids.values())
            )

    routed = {d.item_id: d for d in decisions.events(Decision)}
    assert routed[ids["c1"]].model_version == "client:crm-v7"
    assert routed[ids["c1"]].predicted_label == "HUM" and routed[ids["c1"]].route == "accept"
    assert routed[ids["c2"]].model_version == "client:crm-v7"
    assert routed[ids["c2"]].route != "accept"
    assert routed[ids["p1"]].model_version.startswith("trec6-minilm")
    by_item: dict[str, list[Prediction]] = {}
    for p in predictions.events(Prediction):
        by_item.setdefault(p.item_id, []).append(p)
    for client_item in (ids["c1"], ids["c2"]):
        assert {p.source for p in by_item[client_item]} == {"client"}
    assert by_item[ids["c2"]][0].labels == LABELS
    assert by_item[ids["c2"]][0].probabilities == unsure
    assert {p.source for p in by_item[ids["p1"]]} == {"platform"}
