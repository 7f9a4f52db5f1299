"""From event to log entry: kinds, the columns reports use, override detection, bad events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from mitl_audit.core.entries import Unloggable, entry_for, first_of_each
from mitl_contracts import topics
from mitl_contracts.events import (
    Decision,
    DriftAlert,
    ItemRaw,
    Label,
    ModelPromoted,
    PolicyChanged,
)
from mitl_contracts.examples import examples

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def label(**fields: object) -> Label:
    defaults: dict[str, object] = {
        "event_id": "l-1",
        "dataset": "d",
        "item_id": "i-1",
        "label": "B",
        "source": "annotator",
        "action": "correct",
        "annotator": "ada",
        "role": "annotator",
        "suggested_label": "A",
        "model_version": "m1",
        "policy_version": "p1",
        "occurred_at": AT,
    }
    return Label.model_validate(defaults | fields)


def decision(**fields: object) -> Decision:
    defaults: dict[str, object] = {
        "event_id": "d-1",
        "dataset": "d",
        "item_id": "i-1",
        "batch_id": "b-1",
        "prediction_event_id": "p-1",
        "route": "review",
        "reason": "uncertain",
        "predicted_label": "A",
        "confidence": 0.62,
        "model_version": "m1",
        "policy_version": "p1",
        "occurred_at": AT,
    }
    return Decision.model_validate(defaults | fields)


def test_a_person_choosing_another_label_than_the_model_is_an_override() -> None:
    entry = entry_for(label())
    assert entry.kind == "label"
    assert entry.is_override is True
    assert (entry.label, entry.suggested_label, entry.model_version) == ("B", "A", "m1")
    assert (entry.annotator, entry.role, entry.source, entry.action) == (
        "ada",
        "annotator",
        "annotator",
        "correct",
    )
    assert entry.policy_version == "p1"


@pytest.mark.parametrize(
    ("fields", "override"),
    [
        ({"label": "A", "action": "confirm"}, False),
        ({"source": "expert", "action": "resolve", "role": "expert"}, True),
        ({"source": "model", "action": "auto_accept", "annotator": None, "label": "A"}, False),
        # The model's own label can differ from a stale suggestion: still not a person's override.
        ({"source": "model", "action": "auto_accept", "annotator": None}, False),
        ({"suggested_label": None}, False),
    ],
)
def test_override_needs_a_person_and_a_different_suggestion(
    fields: dict[str, object], override: bool
) -> None:
    assert entry_for(label(**fields)).is_override is override


def test_decision_entry_carries_route_versions_and_confidence() -> None:
    entry = entry_for(decision())
    assert entry.kind == "decision"
    assert (entry.route, entry.predicted_label, entry.confidence) == ("review", "A", 0.62)
    assert (entry.model_version, entry.policy_version) == ("m1", "p1")
    assert entry.is_override is None and entry.label is None
    assert json.loads(entry.payload)["batch_id"] == "b-1"


def test_model_and_drift_events_have_no_item() -> None:
    model = entry_for(ModelPromoted(dataset="d", model_version="m2", status="champion"))
    drift = entry_for(
        DriftAlert(
            dataset="d",
            model_version="m2",
            state="alert",
            statistic="psi",
            value=0.4,
            threshold=0.2,
            window_size=500,
            reference_size=1000,
        )
    )
    assert (model.kind, model.item_id, model.model_version) == ("model", None, "m2")
    assert (drift.kind, drift.item_id, drift.route) == ("drift", None, None)


def test_a_policy_change_is_logged_with_its_version_and_the_whole_policy() -> None:
    event = PolicyChanged(
        event_id="policy-d-v2",
        dataset="d",
        policy_version="v2",
        policy={"accept_thresholds": {"A": 0.81, "B": 0.9}, "spot_check_rate": 0.05},
        reason="learned thresholds from 500 verified items",
        changed_by="router",
        occurred_at=AT,
    )
    entry = entry_for(event)
    assert (entry.kind, entry.item_id, entry.policy_version) == ("policy", None, "v2")
    assert PolicyChanged.model_validate_json(entry.payload) == event
    for example in examples(topics.POLICIES):
        assert entry_for(example) == entry_for(example)
        assert entry_for(example).kind == "policy"


def test_payload_is_the_event_as_json() -> None:
    event = label()
    assert Label.model_validate_json(entry_for(event).payload) == event


def test_occurred_at_is_kept_as_utc_whatever_zone_it_came_in() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    assert entry_for(label(occurred_at=paris)).occurred_at == AT
    assert entry_for(label(occurred_at=AT.replace(tzinfo=None))).occurred_at == AT
    assert entry_for(label(occurred_at=paris)).occurred_at.tzinfo == UTC


def test_an_event_postgres_cannot_store_is_unloggable() -> None:
    with pytest.raises(Unloggable, match="NUL"):
        entry_for(label(annotator="a\x00b"))


def test_events_of_other_topics_are_not_audited() -> None:
    with pytest.raises(Unloggable, match="ItemRaw events are not audited"):
        entry_for(ItemRaw(dataset="d", external_id="x", text="t"))


def test_first_of_each_drops_logged_and_repeated_events_keeping_order() -> None:
    a, b, c = (entry_for(label(event_id=i)) for i in ("a", "b", "c"))
    assert first_of_each([a, b, a, c, b], {"c"}) == [a, b]
