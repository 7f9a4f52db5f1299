"""Client span predictions through ingest and the router, against the real broker and
Postgres: a client pushes its own NER model's spans with the item (over HTTP and on the raw
topic); bad span sets are refused naming the fault (per item over HTTP, to the dead-letter
topic with the reason on Kafka); good ones become `client` span predictions that the router
routes as it routes a span model's, review requests carrying the client's spans."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.events import Decision, Prediction, ReviewRequested
from mitl_contracts.ids import item_id_for
from mitl_contracts.spans import Span, ordered, spans_key
from mitl_ingest.app import create_app as ingest_app
from mitl_ingest.settings import Settings as IngestSettings
from mitl_router.app import create_app as router_app
from mitl_router.settings import Settings as RouterSettings

from tests.support import TopicReader, ingest_headers, publish_raw, running_app

pytestmark = pytest.mark.integration

LABELS = ["PER", "LOC", "ORG"]
TEXT = "Ada Lovelace met Babbage in London"
# "Ada Lovelace" [0, 12), "Babbage" [17, 24), "London" [28, 34).


def write_catalog(folder: Path) -> Path:
    path = folder / "datasets.yaml"
    path.write_text(
        "datasets:\n"
        "  trec6:\n"
        "    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]\n"
        "  cner:\n"
        "    task: spans\n"
        f"    labels: {LABELS}\n"
    )
    return path


def span(start: int, end: int, label: str, confidence: float | None = 0.9) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, "confidence": confidence}


def item(external_id: str, spans: list[dict[str, Any]], complete: float = 0.8) -> dict[str, Any]:
    prediction = {"model_id": "crm-ner", "labels": LABELS, "spans": spans,
                  "spans_complete": complete}  # fmt: skip
    return {"external_id": external_id, "text": TEXT, "prediction": prediction}


async def test_client_spans_are_checked_at_ingest_and_routed_as_span_predictions(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    env = {**service_env, "datasets_file": write_catalog(tmp_path)}
    found = [span(28, 34, "LOC", 0.7), span(0, 12, "PER", 0.95)]
    items = [
        item(f"{run}-found", found),
        item(f"{run}-none", [], complete=0.4),
        item(f"{run}-outside", [span(28, 40, "LOC")]),
        item(f"{run}-overlap", [span(0, 12, "PER"), span(4, 24, "ORG")]),
        item(f"{run}-label", [span(0, 12, "DATE")]),
        item(f"{run}-unsure", [span(0, 12, "PER", confidence=None)]),
    ]
    on_topic = [
        {"event_id": f"raw-{run}-1", "dataset": "cner", **item(f"{run}-topic", found[:1])},
        {"event_id": f"raw-{run}-2", "dataset": "cner",
         **item(f"{run}-topic-bad", [span(17, 24, "PER"), span(17, 34, "LOC")])},
    ]  # fmt: skip
    async with (
        running_app(ingest_app(IngestSettings(**env)), await ingest_headers(env["database_url"]))
        as ingest,
        running_app(router_app(RouterSettings(**env))),
    ):  # fmt: skip
        response = await ingest.post("/v1/items", json={"dataset": "cner", "items": items})
        assert response.status_code == 200, response.text
        outcomes = {i["external_id"].removeprefix(f"{run}-"): i for i in response.json()["items"]}
        assert {k for k, o in outcomes.items() if o["status"] == "accepted"} == {"found", "none"}
        reasons = {k: o["reason"] or "" for k, o in outcomes.items()}
        assert "runs outside the text (34 characters)" in reasons["outside"]
        assert "overlap; the dataset does not allow overlapping spans" in reasons["overlap"]
        assert "'DATE', not one of the dataset's labels" in reasons["label"]
        assert "every predicted span carries its confidence" in reasons["unsure"]
        await publish_raw(kafka, topics.ITEMS_RAW, [json.dumps(e).encode() for e in on_topic])

        ids = {item_id_for("cner", f"{run}-{k}"): k for k in ("found", "none", "topic")}
        assert all(outcomes[k]["item_id"] in ids for k in ("found", "none"))
        async with TopicReader(kafka, topics.DECISIONS) as decisions:
            await decisions.wait_for(
                lambda _: {d.item_id for d in decisions.events(Decision)} >= set(ids), timeout=60
            )
        async with TopicReader(kafka, topics.REVIEW_REQUESTED) as reviews:
            await reviews.wait_for(
                lambda _: {r.item_id for r in reviews.events(ReviewRequested)} >= set(ids)
            )
        async with TopicReader(kafka, topics.PREDICTIONS) as predictions:
            await predictions.wait_for(
                lambda _: {p.item_id for p in predictions.events(Prediction)} >= set(ids)
            )
        async with TopicReader(kafka, topics.dlq(topics.ITEMS_RAW)) as dlq:
            dead = await dlq.wait_for(
                lambda recs: any(f"{run}-topic-bad".encode() in r.value for r in recs)
            )

    mine = {ids[p.item_id]: p for p in predictions.events(Prediction) if p.item_id in ids}
    expected = ordered(Span.model_validate(s) for s in found)
    assert mine["found"].source == "client" and mine["found"].task == "spans"
    assert mine["found"].model_version == "client:crm-ner"
    assert mine["found"].spans == expected and mine["found"].spans_complete == 0.8
    assert mine["found"].labels == LABELS
    assert mine["found"].probabilities == pytest.approx([0.95 / 1.65, 0.7 / 1.65, 0.0])
    assert mine["none"].spans == [] and mine["none"].spans_complete == 0.4

    routed = {ids[d.item_id]: d for d in decisions.events(Decision) if d.item_id in ids}
    found_decision = routed["found"]
    assert found_decision.model_version == "client:crm-ner"
    assert found_decision.predicted_spans == expected
    assert found_decision.predicted_label == spans_key(expected)
    # A span item's confidence is its least certain span or "nothing missing".
    assert found_decision.confidence == pytest.approx(0.7)
    assert routed["none"].predicted_label == ""
    assert routed["none"].confidence == pytest.approx(0.4)
    assert routed["topic"].predicted_spans == [Span.model_validate(found[0])]
    # Nothing is learned for the dataset yet: people see the client's spans.
    asked = {ids[r.item_id]: r for r in reviews.events(ReviewRequested) if r.item_id in ids}
    assert asked["found"].suggested_spans == expected
    assert asked["found"].spans_complete == 0.8
    assert asked["found"].suggested_label == spans_key(expected)

    bad = [r for r in dead if f"{run}-topic-bad".encode() in r.value]
    reason = dict(bad[0].headers)["mitl-dlq-reason"].decode()
    assert "client prediction: spans [17, 24) and [17, 34) overlap" in reason
    bad_id = item_id_for("cner", f"{run}-topic-bad")
    assert all(d.item_id != bad_id for d in decisions.events(Decision))
