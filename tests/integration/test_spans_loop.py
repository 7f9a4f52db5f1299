"""A span (NER) dataset through inference and the router, against the real broker and
Postgres: texts are scored by the spacy-ner pre-labeler (spans with beam confidences and
spans_complete), routed by span set with review requests carrying the suggested spans; a
prediction with overlapping spans where the dataset forbids them is dead-lettered with the
reason; human span labels are joined to the decisions and the router learns entity-level
thresholds, including the one for "nothing missing" (':complete')."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.events import (
    Decision,
    ItemContent,
    ItemIngested,
    Label,
    Prediction,
    ReviewRequested,
)
from mitl_contracts.spans import spans_key
from mitl_inference.app import create_app as inference_app
from mitl_inference.settings import Settings as InferenceSettings
from mitl_ml.bootstrap_spans import build_span_bootstrap
from mitl_policy.spans import COMPLETE
from mitl_router.app import create_app as router_app
from mitl_router.settings import Settings as RouterSettings

from tests.support import ADMIN, TopicReader, eventually, publish_events, publish_raw, running_app

pytestmark = pytest.mark.integration

TEXTS = [
    "Barack Obama flew to Paris on Monday",
    "Angela Merkel met Emmanuel Macron in Berlin",
    "Tim Cook spoke in London about the new iPhone",
    "I love walking along the river in Chicago",
    "Serena Williams won again in New York",
    "lol cant wait for the weekend",
    "Taylor Swift is touring Australia next year",
    "Elon Musk visited Tokyo and Seoul",
]


def write_catalog(folder: Path) -> Path:
    path = folder / "datasets.yaml"
    bundle = folder / "ner-spacy"
    path.write_text(
        "datasets:\n"
        "  ner:\n"
        "    task: spans\n"
        "    labels: [person, geo-loc, company, product]\n"
        "    entity_map: {PERSON: person, GPE: geo-loc, LOC: geo-loc, ORG: company,\n"
        "                 PRODUCT: product}\n"
        f"    model: {bundle}\n"
        "    policy:\n"
        "      version: ner-it\n"
        "      target_precision: 0.5\n"
        "      min_verified: 2\n"
        "      min_accept_threshold: 0.05\n"
        "      escalation_floor: 0.01\n"
        "      escalate_on_model_change: false\n"
    )
    build_span_bootstrap(bundle, "ner", path, evaluate=0)
    return path


async def test_ner_items_are_scored_routed_and_teach_thresholds(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    env = {**service_env, "datasets_file": write_catalog(tmp_path)}
    sent = [
        ItemIngested(
            event_id=f"ing-{run}-{i}",
            dataset="ner",
            item_id=f"{run}-{i}",
            external_id=f"t{i}",
            batch_id=f"b-{run}",
            content=ItemContent(text=text),
        )
        for i, text in enumerate(TEXTS)
    ]
    overlapping = {
        "event_id": f"p-overlap-{run}", "dataset": "ner", "item_id": f"{run}-overlap",
        "content": {"text": "Ada met Bob"}, "model_version": "m",
        "labels": ["person", "geo-loc", "company", "product"], "probabilities": [0.25] * 4,
        "spans": [{"start": 0, "end": 3, "label": "person", "confidence": 0.9},
                  {"start": 2, "end": 7, "label": "company", "confidence": 0.8}],
        "spans_complete": 0.9,
    }  # fmt: skip
    async with (
        running_app(inference_app(InferenceSettings(**env))),
        running_app(router_app(RouterSettings(**env)), ADMIN) as router,
    ):
        await publish_events(kafka, topics.ITEMS_INGESTED, sent)
        await publish_raw(kafka, topics.PREDICTIONS, [json.dumps(overlapping).encode()])
        async with TopicReader(kafka, topics.DECISIONS) as decisions:
            await decisions.wait_for(
                lambda _: (
                    len(
                        {d.item_id for d in decisions.events(Decision) if d.item_id.startswith(run)}
                    )
                    == len(TEXTS)
                )
            )
        async with TopicReader(kafka, topics.PREDICTIONS) as predictions:
            await predictions.wait_for(
                lambda _: (
                    sum(p.item_id.startswith(run) for p in predictions.events(Prediction))
                    >= len(TEXTS)
                )
            )
        async with TopicReader(kafka, topics.dlq(topics.PREDICTIONS)) as dlq:
            dead = await dlq.wait_for(lambda recs: any(run.encode() in r.value for r in recs))

        mine = {p.item_id: p for p in predictions.events(Prediction) if p.item_id.startswith(run)}
        assert all(p.task == "spans" and p.spans_complete is not None for p in mine.values())
        obama = mine[f"{run}-0"]
        found = {(TEXTS[0][s.start : s.end], s.label) for s in obama.spans or []}
        assert ("Barack Obama", "person") in found and ("Paris", "geo-loc") in found
        routed = {d.item_id: d for d in decisions.events(Decision) if d.item_id.startswith(run)}
        for item_id, decision in routed.items():
            assert decision.predicted_spans == mine[item_id].spans
            assert decision.predicted_label == spans_key(mine[item_id].spans or [])
        reasons = [dict(r.headers)["mitl-dlq-reason"].decode() for r in dead
                   if run.encode() in r.value]  # fmt: skip
        assert any("overlap" in r for r in reasons), reasons

        # Nothing is learned yet: every item goes to a person, with its suggested spans.
        async with TopicReader(kafka, topics.REVIEW_REQUESTED) as reviews:
            await reviews.wait_for(
                lambda _: (
                    sum(r.item_id.startswith(run) for r in reviews.events(ReviewRequested))
                    >= len(TEXTS)
                )
            )
        asked = [r for r in reviews.events(ReviewRequested) if r.item_id.startswith(run)]
        assert all(r.suggested_spans == mine[r.item_id].spans for r in asked)

        # People confirm the model's spans: every part verdict is right.
        confirmed = [
            Label(
                event_id=f"label-{item_id}",
                dataset="ner",
                item_id=item_id,
                batch_id=f"b-{run}",
                label=spans_key(p.spans or []),
                spans=[s.model_copy(update={"confidence": None}) for s in p.spans or []],
                source="annotator",
                action="confirm",
                annotator="ann",
                suggested_label=spans_key(p.spans or []),
                suggested_spans=p.spans,
                model_version=p.model_version,
            )
            for item_id, p in mine.items()
        ]
        await publish_events(kafka, topics.LABELS, confirmed)
        version = obama.model_version

        async def learned() -> dict[str, Any] | None:
            state = (await router.get("/v1/policies")).json()["ner"]["learned_thresholds"]
            entry = state.get(version)
            return entry if entry and entry.get(COMPLETE) is not None else None

        thresholds = await eventually(learned, timeout=60)
        assert thresholds["person"] is not None
