"""Every topic has example payloads; every example parses and runs through the pure core of
every service that consumes its topic, twice, with the same result (idempotency)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mitl_audit.core.entries import entry_for
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import (
    TOPIC_EVENTS,
    ItemIngested,
    ItemRaw,
    Label,
    Prediction,
    ReviewRequested,
)
from mitl_contracts.examples import examples, raw_examples
from mitl_drift.core import human_agreement, observe
from mitl_inference import core as inference
from mitl_ingest import core as ingest
from mitl_policy import core as router
from mitl_review.core.intake import new_task

ROOT = Path(__file__).resolve().parents[3]
CATALOG = load_catalog(ROOT / "config" / "datasets.yaml")
NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize("topic", topics.ALL)
def test_every_topic_has_examples_that_round_trip(topic: str) -> None:
    payloads = raw_examples(topic)
    assert payloads, f"{topic} has no examples"
    for payload, event in zip(payloads, examples(topic), strict=True):
        again = TOPIC_EVENTS[topic].model_validate_json(event.model_dump_json())
        assert again == event
        assert json.loads(event.model_dump_json()) == payload


def run_consumers(topic: str, event: object) -> list[object]:
    """What each consuming core makes of one event."""
    out: list[object] = []
    if isinstance(event, ItemRaw):
        ingest.check(event, CATALOG)
        item = ingest.ingested(event, "b")
        out += [item, ingest.client_prediction(event, item, CATALOG)]
    if isinstance(event, ItemIngested):
        assert inference.unscorable(event, CATALOG, {"trec6", "digits"}) is None
        out.append(inference.model_inputs([event]))
    if isinstance(event, Prediction):
        out.append(router.route(event, CATALOG.get(event.dataset).policy, now=NOW))
        out.append(observe(event, CATALOG.get(event.dataset).labels))
    if isinstance(event, ReviewRequested):
        out.append(new_task(event, CATALOG))
    if isinstance(event, Label):
        out.append(human_agreement(event))
    if topic in (topics.DECISIONS, topics.LABELS, topics.MODELS, topics.DRIFT, topics.POLICIES):
        out.append(entry_for(event))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("topic", topics.ALL)
def test_every_example_runs_through_every_consumer_idempotently(topic: str) -> None:
    for event in examples(topic):
        first, second = run_consumers(topic, event), run_consumers(topic, event)
        assert repr(first) == repr(second)
