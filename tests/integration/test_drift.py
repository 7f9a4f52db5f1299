"""Drift monitor against the real broker and Postgres: windows survive a restart, a shift raises
a DriftAlert that clears with hysteresis, duplicates count once, bad events are dead-lettered."""

from __future__ import annotations

import json
import uuid

import pytest
from httpx import AsyncClient
from mitl_contracts import topics
from mitl_contracts.events import DriftAlert, ItemContent, Label, LabelSource, Prediction
from mitl_drift.app import create_app
from mitl_drift.core import alert_event_id
from mitl_drift.settings import Settings

from tests.support import TopicReader, eventually, publish_raw, running_app

pytestmark = pytest.mark.integration

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
# Patterns whose periods divide the window (50) and the reference (100): a stationary recent
# window then has exactly the reference's distribution.
STEADY_CONFIDENCE = [0.82, 0.86, 0.9, 0.94, 0.98]
SHIFTED_CONFIDENCE = [0.42, 0.46, 0.5, 0.54, 0.58]
CLASS_CYCLE = [0, 1, 1, 2, 2, 2, 3, 3, 4, 5]


def small_windows(service_env: dict) -> Settings:
    return Settings(
        **service_env,
        reference_size=100,
        window_size=50,
        evaluate_every=10,
        clear_after=2,
        agreement_reference_size=10,
        agreement_window=10,
        agreement_evaluate_every=5,
        spot_check_reference_size=10,
        spot_check_window=10,
        spot_check_evaluate_every=5,
    )


def prediction(run: str, i: int, confidences: list[float]) -> bytes:
    confidence = confidences[i % len(confidences)]
    probabilities = [(1 - confidence) / 5] * len(LABELS)
    probabilities[CLASS_CYCLE[i % len(CLASS_CYCLE)]] = confidence
    event = Prediction(
        event_id=f"prediction-{run}-{i}",
        dataset="trec6",
        item_id=f"{run}-{i}",
        content=ItemContent(text="What is it ?"),
        model_version=f"drift-{run}",
        labels=LABELS,
        probabilities=probabilities,
        outlier_score=0.4,
    )
    return event.model_dump_json().encode()


async def monitor_of(client: AsyncClient, model_version: str) -> dict | None:
    response = await client.get("/v1/drift/trec6")
    assert response.status_code == 200, response.text
    versions = [v for v in response.json()["model_versions"] if v["model_version"] == model_version]
    return versions[0] if versions else None


async def seen(client: AsyncClient, model_version: str, field: str, at_least: int) -> dict:
    async def check() -> dict | None:
        found = await monitor_of(client, model_version)
        return found if found and found[field] >= at_least else None

    return await eventually(check)


def ours(record: object) -> bool:
    """Dead-lettered by the drift monitor (other consumers dead-letter to the same topic)."""
    headers = dict(getattr(record, "headers", ()) or ())
    return headers.get("mitl-dlq-service") == b"drift-monitor"


async def test_shift_alerts_survives_restart_and_clears(service_env: dict) -> None:
    run = uuid.uuid4().hex[:8]
    version = f"drift-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    # One key: one partition, so the windows fill in publication order.
    key = f"drift-{run}".encode()
    steady = [prediction(run, i, STEADY_CONFIDENCE) for i in range(150)]
    malformed = json.dumps({"dataset": "trec6", "item_id": run, "probabilities": [2.0]}).encode()
    unknown = json.loads(steady[0]) | {"dataset": "nope", "event_id": f"unknown-{run}"}

    async with running_app(create_app(small_windows(service_env))) as client:
        assert (await client.get("/v1/drift/no-such-dataset")).status_code == 404
        values = [*steady[:149], steady[7], malformed, json.dumps(unknown).encode(), steady[149]]
        await publish_raw(kafka, topics.PREDICTIONS, values, key=key)
        state = await seen(client, version, "predictions_seen", 150)
        # Everything before the last prediction was consumed: the duplicate counted once.
        assert state["predictions_seen"] == 150
        assert (state["reference_size"], state["window_size"]) == (100, 50)
        assert state["active_alerts"] == []
        psi = {s["statistic"]: s["value"] for s in state["statistics"]}
        assert psi["confidence_psi"] == pytest.approx(0.0, abs=1e-9)

        async with TopicReader(kafka, topics.dlq(topics.PREDICTIONS)) as dlq:
            records = await dlq.wait_for(
                lambda recs: len([r for r in recs if run.encode() in r.value and ours(r)]) >= 2
            )
        reasons = [dict(r.headers)["mitl-dlq-reason"].decode() for r in records if ours(r)]
        assert any("not a valid Prediction" in reason for reason in reasons)
        assert any("unknown dataset 'nope'" in reason for reason in reasons)

    # A new replica resumes from Postgres: the reference stays, the recent window goes on.
    async with running_app(create_app(small_windows(service_env))) as client:
        shifted = [prediction(run, i, SHIFTED_CONFIDENCE) for i in range(150, 200)]
        await publish_raw(kafka, topics.PREDICTIONS, shifted, key=key)
        async with TopicReader(kafka, topics.DRIFT) as drift:
            await drift.wait_for(lambda _: bool(drift.events(DriftAlert, model_version=version)))
        alert = drift.events(DriftAlert, model_version=version)[0]
        assert (alert.statistic, alert.state, alert.severity) == (
            "confidence_psi",
            "alert",
            "critical",
        )
        assert alert.event_id == alert_event_id("trec6", version, "confidence_psi", "all", 1)
        assert (alert.window_size, alert.reference_size, alert.threshold) == (50, 100, 0.2)
        state = await seen(client, version, "predictions_seen", 200)
        assert state["active_alerts"] == ["confidence_psi"]

        metrics = (await client.get("/metrics")).text
        assert (
            f'mitl_drift_statistic{{dataset="trec6",model_version="{version}",'
            'segment="all",statistic="confidence_psi"}' in metrics
        )
        assert 'mitl_drift_alert_active{dataset="trec6",statistic="confidence_psi"}' in metrics

        # Back to steady: once the window holds only steady predictions (50) and two
        # evaluations in a row are calm (every 10), the alert clears.
        recovery = [prediction(run, i, STEADY_CONFIDENCE) for i in range(200, 260)]
        await publish_raw(kafka, topics.PREDICTIONS, recovery, key=key)
        async with TopicReader(kafka, topics.DRIFT) as drift:
            await drift.wait_for(
                lambda _: bool(drift.events(DriftAlert, model_version=version, state="clear"))
            )
        events = drift.events(DriftAlert, model_version=version)
        assert [(e.statistic, e.state) for e in events] == [
            ("confidence_psi", "alert"),
            ("confidence_psi", "clear"),
        ]
        state = await seen(client, version, "predictions_seen", 260)
        assert state["active_alerts"] == []


def human_label(
    run: str, i: int, agreed: bool, source: LabelSource = "annotator", shown: bool = True
) -> bytes:
    return (
        Label(
            event_id=f"label-{run}-{i}-{source}",
            dataset="trec6",
            item_id=f"{run}-{i}",
            label="HUM" if agreed else "LOC",
            source=source,
            action="confirm" if agreed else "correct",
            suggested_label="HUM",
            suggestion_shown=shown,
            model_version=f"agree-{run}",
        )
        .model_dump_json()
        .encode()
    )


async def test_a_fall_in_human_agreement_alerts(service_env: dict) -> None:
    run = uuid.uuid4().hex[:8]
    version = f"agree-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    values = [human_label(run, i, agreed=True) for i in range(10)]
    # Labels the model gave itself say nothing about agreement and are not counted.
    values += [human_label(run, i, agreed=True, source="model") for i in range(10, 15)]
    values += [human_label(run, i, agreed=i % 5 == 0) for i in range(15, 25)]
    # Delivered twice, before the last label: counted once by the time the last one is.
    values.insert(-1, values[3])
    async with running_app(create_app(small_windows(service_env))) as client:
        await publish_raw(kafka, topics.LABELS, values, key=f"agree-{run}".encode())
        async with TopicReader(kafka, topics.DRIFT) as drift:
            await drift.wait_for(lambda _: bool(drift.events(DriftAlert, model_version=version)))
        alert = drift.events(DriftAlert, model_version=version)[0]
        assert (alert.statistic, alert.state, alert.severity) == (
            "agreement_drop",
            "alert",
            "critical",
        )
        assert alert.value == pytest.approx(0.8)
        assert alert.details["recent_agreement"] == pytest.approx(0.2)
        state = await seen(client, version, "human_labels_seen", 20)
        assert state["human_labels_seen"] == 20 and state["predictions_seen"] == 0


async def test_a_fall_in_spot_check_precision_alerts_apart_from_agreement(
    service_env: dict,
) -> None:
    run = uuid.uuid4().hex[:8]
    version = f"agree-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    # Blind labels: 10 that kept the model's label, then 10 of which 8 did not.
    values = [human_label(run, i, agreed=True, shown=False) for i in range(10)]
    values += [human_label(run, i, agreed=i % 5 == 0, shown=False) for i in range(10, 20)]
    # Shown labels agreeing all along: counted for agreement_drop, which stays quiet.
    values += [human_label(run, i, agreed=True) for i in range(20, 40)]
    async with running_app(create_app(small_windows(service_env))) as client:
        await publish_raw(kafka, topics.LABELS, values, key=f"agree-{run}".encode())
        async with TopicReader(kafka, topics.DRIFT) as drift:
            await drift.wait_for(lambda _: bool(drift.events(DriftAlert, model_version=version)))
        (alert,) = drift.events(DriftAlert, model_version=version)
        assert (alert.statistic, alert.segment, alert.severity) == (
            "spot_check_drop",
            "all",
            "critical",
        )
        assert alert.value == pytest.approx(0.8)
        state = await seen(client, version, "human_labels_seen", 20)
        assert (state["spot_checks_seen"], state["spot_check_window_size"]) == (20, 10)
        assert state["active_alerts"] == ["spot_check_drop"]
