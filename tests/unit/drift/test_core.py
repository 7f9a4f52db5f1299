"""The drift core over seeded synthetic streams: quiet when stationary, alerts after a shift,
clears with hysteresis, watches human agreement; event ids are deterministic."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from mitl_contracts.events import ItemContent, Label, Prediction
from mitl_drift import core
from mitl_drift.config import (
    AGREEMENT_DROP,
    CLASS_MIX_PSI,
    CLASS_SHARE_SHIFT,
    CONFIDENCE_PSI,
    OUTLIER_SHIFT,
    AgreementSizes,
    DriftConfig,
)

from tests.unit.drift.streams import LABELS, stream

CONFIG = DriftConfig()  # reference 500, window 300, every 50; psi 0.2, clear 0.5 x 3
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def monitor() -> core.MonitorState:
    return core.MonitorState.new("trec6", "m1", LABELS)


def transitions(alerts: list) -> list[tuple[str, str]]:
    return [(a.statistic, a.state) for a in alerts]


def test_a_stationary_stream_raises_no_alert() -> None:
    state = monitor()
    alerts = core.observe_predictions(state, stream(np.random.default_rng(1), 6000), CONFIG, NOW)
    assert alerts == []
    assert state.predictions_seen == 6000
    assert state.predictions.reference_count == 500 and len(state.predictions.recent) == 300
    # Every statistic was evaluated, (6000 - 500 - 300) / 50 + 1 times, and stayed well under.
    for statistic, segment in state.alerts:
        alert = state.alerts[(statistic, segment)]
        assert alert.evaluations == 105 and not alert.active
        assert alert.value is not None and alert.value < CONFIG.thresholds[statistic] / 2
    # No sketches in these predictions: no embedding statistic.
    assert len(state.alerts) == 3 + len(LABELS)


def test_no_evaluation_before_the_recent_window_is_full() -> None:
    state = monitor()
    core.observe_predictions(state, stream(np.random.default_rng(2), 799), CONFIG, NOW)
    assert state.alerts == {}
    core.observe_predictions(state, stream(np.random.default_rng(3), 1), CONFIG, NOW)
    assert set(state.alerts) == {
        (CONFIDENCE_PSI, "all"),
        (CLASS_MIX_PSI, "all"),
        (OUTLIER_SHIFT, "all"),
        *((CLASS_SHARE_SHIFT, f"class:{label}") for label in LABELS),
    }


def test_a_confidence_shift_raises_an_alert_then_clears_with_hysteresis() -> None:
    rng = np.random.default_rng(4)
    state = monitor()
    assert core.observe_predictions(state, stream(rng, 1000), CONFIG, NOW) == []
    shifted = core.observe_predictions(state, stream(rng, 300, confidence=(3.0, 3.0)), CONFIG, NOW)
    # Raised as a warning once 50 shifted predictions are in the window, raised again as
    # critical when 50 more make it worse.
    assert transitions(shifted) == [(CONFIDENCE_PSI, "alert"), (CONFIDENCE_PSI, "alert")]
    warning, critical = shifted
    assert warning.severity == "warning" and warning.threshold < warning.value
    assert critical.severity == "critical" and critical.value > 2 * critical.threshold
    assert warning.dataset == "trec6" and warning.model_version == "m1"
    assert warning.segment == "all"
    assert (warning.window_size, warning.reference_size) == (300, 500)
    assert warning.details["recent_mean_confidence"] < warning.details["reference_mean_confidence"]
    assert [a.event_id for a in shifted] == [
        core.alert_event_id("trec6", "m1", CONFIDENCE_PSI, "all", number) for number in (1, 2)
    ]

    # Back to normal: the window must hold only normal predictions (300), then stay calm for
    # three evaluations in a row (every 50) before the alert clears.
    recovery = stream(rng, 600)
    assert core.observe_predictions(state, recovery[:300], CONFIG, NOW) == []
    cleared = core.observe_predictions(state, recovery[300:], CONFIG, NOW)
    assert transitions(cleared) == [(CONFIDENCE_PSI, "clear")]
    assert cleared[0].severity == "info" and cleared[0].details["transition"] == 3
    assert not state.alerts[(CONFIDENCE_PSI, "all")].active


def test_a_class_mix_shift_alerts_on_class_mix_and_the_classes_that_moved() -> None:
    rng = np.random.default_rng(5)
    state = monitor()
    core.observe_predictions(state, stream(rng, 800), CONFIG, NOW)
    # LOC from 0.1 to 0.3, ENTY from 0.3 to 0.1, the rest unchanged.
    alerts = core.observe_predictions(
        state, stream(rng, 300, class_mix=(0.1, 0.2, 0.1, 0.2, 0.3, 0.1)), CONFIG, NOW
    )
    assert {(a.statistic, a.segment) for a in alerts} == {
        (CLASS_MIX_PSI, "all"),
        (CLASS_SHARE_SHIFT, "class:LOC"),
        (CLASS_SHARE_SHIFT, "class:ENTY"),
    }
    assert {a.state for a in alerts} == {"alert"}
    loc = next(a for a in alerts if a.segment == "class:LOC")
    assert loc.details["direction"] == "up" and loc.details["class"] == "LOC"
    assert loc.details["recent_share"] > loc.details["reference_share"] + loc.threshold
    assert loc.event_id == core.alert_event_id("trec6", "m1", CLASS_SHARE_SHIFT, "class:LOC", 1)
    assert alerts[-1].details["most_shifted_class"] in {"ENTY", "LOC"}


def test_an_outlier_shift_alerts() -> None:
    rng = np.random.default_rng(6)
    state = monitor()
    core.observe_predictions(state, stream(rng, 800), CONFIG, NOW)
    alerts = core.observe_predictions(state, stream(rng, 300, outlier_mean=1.2), CONFIG, NOW)
    assert {a.statistic for a in alerts} == {OUTLIER_SHIFT}
    assert {a.state for a in alerts} == {"alert"}
    assert alerts[-1].details["direction"] == "up"
    assert state.alerts[(OUTLIER_SHIFT, "all")].value == pytest.approx(0.7, abs=0.15)


def test_a_fall_in_human_agreement_alerts() -> None:
    rng = np.random.default_rng(8)
    config = DriftConfig(agreement=AgreementSizes(reference=100, window=100, evaluate_every=20))
    state = monitor()
    steady = (rng.random(400) < 0.9).tolist()
    assert core.observe_agreements(state, steady, config, NOW) == []
    steady_drop = state.alerts[(AGREEMENT_DROP, "all")].value
    assert steady_drop is not None and steady_drop < 0.1
    falling = (rng.random(100) < 0.55).tolist()
    alerts = core.observe_agreements(state, falling, config, NOW)
    assert {a.statistic for a in alerts} == {AGREEMENT_DROP}
    assert [a.state for a in alerts] == ["alert"] * len(alerts)
    last = alerts[-1]
    assert last.severity == "critical"
    assert last.details["recent_agreement"] < 0.7 < last.details["reference_agreement"]
    assert (last.window_size, last.reference_size) == (100, 100)
    assert state.human_labels_seen == 500


def test_results_do_not_depend_on_how_the_stream_is_batched() -> None:
    rng = np.random.default_rng(9)
    observations = stream(rng, 900) + stream(rng, 400, confidence=(2.0, 5.0))
    whole = monitor()
    expected = core.observe_predictions(whole, observations, CONFIG, NOW)
    chunked = monitor()
    got = []
    for start in range(0, len(observations), 37):
        got += core.observe_predictions(chunked, observations[start : start + 37], CONFIG, NOW)
    assert expected and [a.model_dump() for a in got] == [a.model_dump() for a in expected]


def prediction(labels: list[str], probabilities: list[float], outlier: float = 0.3) -> Prediction:
    return Prediction(
        dataset="trec6",
        item_id="i1",
        content=ItemContent(text="Who ?"),
        model_version="m1",
        labels=labels,
        probabilities=probabilities,
        outlier_score=outlier,
    )


def test_observe_indexes_classes_in_the_monitor_order() -> None:
    reordered = ["NUM", "LOC", "HUM", "ENTY", "DESC", "ABBR"]
    observation = core.observe(prediction(reordered, [0.1, 0.7, 0.05, 0.05, 0.05, 0.05]), LABELS)
    assert observation.class_index == LABELS.index("LOC")
    assert observation.confidence == 0.7 and observation.outlier == 0.3


def test_observe_rejects_another_label_set_and_non_finite_outliers() -> None:
    with pytest.raises(core.Rejected, match="not the label set"):
        core.observe(prediction(["A", "B"], [0.5, 0.5]), LABELS)
    with pytest.raises(core.Rejected, match="not a finite number"):
        core.observe(prediction(list(LABELS), [0.5, 0.1, 0.1, 0.1, 0.1, 0.1], float("nan")), LABELS)


def label(source: str, label_: str, suggested: str | None) -> Label:
    action = "auto_accept" if source == "model" else "confirm"
    return Label(
        dataset="trec6",
        item_id="i1",
        label=label_,
        source=source,
        action=action,
        suggested_label=suggested,
        model_version="m1",
    )


def test_only_human_labels_with_a_suggestion_measure_agreement() -> None:
    assert core.human_agreement(label("annotator", "HUM", "HUM")) is True
    assert core.human_agreement(label("expert", "LOC", "HUM")) is False
    assert core.human_agreement(label("annotator", "LOC", None)) is None
    assert core.human_agreement(label("model", "HUM", "HUM")) is None
    assert core.human_agreement(label("client", "HUM", "HUM")) is None
