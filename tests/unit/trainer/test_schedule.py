"""When to train: deterministic request ids per trigger, and readiness with its reasons."""

from __future__ import annotations

from mitl_contracts.events import DriftAlert
from mitl_trainer.core.schedule import (
    content_retry_s,
    drift_request_id,
    label_request_id,
    manual_request_id,
    readiness,
    waits_for_content,
)

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def alert(state: str = "alert", severity: str = "warning") -> DriftAlert:
    return DriftAlert(
        event_id="drift-1",
        dataset="trec6",
        model_version="m1",
        state=state,  # type: ignore[arg-type]
        statistic="embedding_shift",
        value=0.3,
        threshold=0.2,
        severity=severity,  # type: ignore[arg-type]
        window_size=300,
        reference_size=500,
    )


def test_one_request_per_multiple_of_retrain_every_reached() -> None:
    assert label_request_id("trec6", 499, 500) is None
    assert label_request_id("trec6", 500, 500) == "labels-trec6-500"
    assert label_request_id("trec6", 999, 500) == "labels-trec6-500"
    # A batch that jumps past two multiples asks once, for the latest.
    assert label_request_id("trec6", 1700, 500) == "labels-trec6-1500"


def test_drift_alerts_ask_for_training_from_a_severity_on_and_clears_never() -> None:
    assert drift_request_id(alert(), "warning") == "drift-drift-1"
    assert drift_request_id(alert(severity="warning"), "critical") is None
    assert drift_request_id(alert(severity="critical"), "critical") == "drift-drift-1"
    assert drift_request_id(alert(state="clear", severity="info"), "warning") is None


def test_asking_twice_with_the_same_labels_is_one_request() -> None:
    assert manual_request_id("trec6", 812) == manual_request_id("trec6", 812)
    assert manual_request_id("trec6", 813) != manual_request_id("trec6", 812)


def test_readiness_says_how_many_labels_exist_and_how_many_are_needed() -> None:
    counts = {"ABBR": 1, "DESC": 30, "ENTY": 30, "HUM": 30, "LOC": 30, "NUM": 30}
    few = readiness(151, counts, LABELS, min_labels=200, min_per_class=2, dataset="trec6")
    assert not few.ready and (few.verified, few.needed) == (151, 200)
    assert few.short_classes == {"ABBR": 1}
    assert few.reason == (
        "dataset 'trec6' has 151 verified labels with text; training needs at least 200; "
        "every class needs at least 2 training examples (ABBR has 1)"
    )
    missing = readiness(
        400,
        counts | {"ABBR": 5, "NUM": 0},
        LABELS,
        min_labels=200,
        min_per_class=2,
        dataset="trec6",
    )
    assert not missing.ready and missing.short_classes == {"NUM": 0}
    ready = readiness(
        400, counts | {"ABBR": 5}, LABELS, min_labels=200, min_per_class=2, dataset="trec6"
    )
    assert ready.ready and ready.short_classes == {} and ready.reason == "400 verified labels"


def test_a_request_waits_for_missing_content_only_until_its_wait_is_over() -> None:
    assert waits_for_content(missing=150, waited_s=0.0, wait_s=300.0)
    assert waits_for_content(missing=1, waited_s=299.9, wait_s=300.0)
    # Content of every labeled item is there: too few labels is a real shortfall, skipped.
    assert not waits_for_content(missing=0, waited_s=0.0, wait_s=300.0)
    # The wait is over (or none was allowed): skipped with the reason.
    assert not waits_for_content(missing=150, waited_s=300.0, wait_s=300.0)
    assert not waits_for_content(missing=150, waited_s=0.0, wait_s=0.0)


def test_a_waiting_request_is_looked_at_a_tenth_of_its_wait_apart_at_most_every_poll() -> None:
    assert content_retry_s(poll_s=5.0, wait_s=300.0) == 30.0
    assert content_retry_s(poll_s=5.0, wait_s=20.0) == 5.0
