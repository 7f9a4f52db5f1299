"""The embedding statistic: standardized mean shift of sketches, RMS over dimensions; quiet on a
stationary stream, loud after a shift, evaluated only with enough sketches; sketch widths."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from mitl_contracts.events import ItemContent, Prediction
from mitl_drift import core
from mitl_drift.config import EMBEDDING_SHIFT, DriftConfig
from mitl_drift.measures import MIN_SKETCHES, embedding_measure
from mitl_drift.rows import flat_sketches, sketch_rows
from mitl_drift.statistics import moments, rms, standardized_shift
from mitl_drift.windows import Observation, PredictionWindows

from tests.unit.drift.streams import LABELS, stream

CONFIG = DriftConfig()
NOW = datetime(2024, 1, 1, tzinfo=UTC)
DIM = 16


def with_sketches(
    observations: list[Observation], rng: np.random.Generator, mean: float = 0.0
) -> list[Observation]:
    """The observations with Gaussian sketches around `mean` (unit deviation per dimension)."""
    sketches = rng.normal(mean, 1.0, size=(len(observations), DIM))
    return [
        Observation(o.confidence, o.class_index, o.outlier, tuple(float(v) for v in row))
        for o, row in zip(observations, sketches, strict=True)
    ]


def test_moments_from_sums_match_numpy() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal([1.0, -2.0, 0.5], [0.5, 2.0, 1.0], size=(200, 3))
    mean, std = moments(len(values), values.sum(axis=0), (values**2).sum(axis=0))
    assert mean == pytest.approx(values.mean(axis=0))
    assert std == pytest.approx(values.std(axis=0, ddof=1))
    # A constant dimension gets the floor, not a division by zero.
    _, flat = moments(3, [3.0], [3.0])
    assert flat[0] == pytest.approx(1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        moments(1, [1.0], [1.0])


def test_standardized_shift_is_in_reference_deviations() -> None:
    shift = standardized_shift(np.array([0.0, 1.0]), np.array([2.0, 0.5]), np.array([[1.0, 1.5]]))
    assert shift == pytest.approx([0.5, 1.0])
    assert rms(shift) == pytest.approx(math.sqrt((0.25 + 1.0) / 2))
    with pytest.raises(ValueError, match="for 2 dimensions"):
        standardized_shift(np.zeros(2), np.ones(2), np.zeros((4, 3)))


def test_no_embedding_statistic_without_enough_sketches() -> None:
    rng = np.random.default_rng(1)
    windows = PredictionWindows(len(LABELS))
    config = DriftConfig(reference_size=100, window_size=100)
    plain = stream(rng, 100 + 100 - (MIN_SKETCHES - 1))
    for observation in [*with_sketches(stream(rng, 100), rng), *plain]:
        windows.add(observation, config)
    for observation in with_sketches(stream(rng, MIN_SKETCHES - 1), rng):
        windows.add(observation, config)
    assert embedding_measure(windows) is None
    windows.add(with_sketches(stream(rng, 1), rng)[0], config)
    measured = embedding_measure(windows)
    assert measured is not None and measured.details["recent_sketches"] == MIN_SKETCHES


def test_stationary_sketches_stay_quiet_and_a_shifted_mean_alerts() -> None:
    rng = np.random.default_rng(2)
    state = core.MonitorState.new("trec6", "m1", LABELS)
    steady = with_sketches(stream(rng, 3000), rng)
    assert core.observe_predictions(state, steady, CONFIG, NOW) == []
    quiet = state.alerts[(EMBEDDING_SHIFT, "all")]
    # Stationary, each dimension's shift is ~N(0, 1/300 + 1/500): RMS about 0.07.
    assert quiet.value is not None and quiet.value < 0.12
    # Inputs move by one deviation in every dimension; nothing else changes.
    moved = with_sketches(stream(rng, 300), rng, mean=1.0)
    alerts = core.observe_predictions(state, moved, CONFIG, NOW)
    assert {a.statistic for a in alerts} == {EMBEDDING_SHIFT}
    first = alerts[0]
    assert first.state == "alert" and first.segment == "all"
    assert first.details["reference_sketches"] == 500
    assert alerts[-1].severity == "critical" and alerts[-1].value > 2 * alerts[-1].threshold


def prediction(sketch: list[float] | None) -> Prediction:
    return Prediction(
        dataset="trec6",
        item_id="i1",
        content=ItemContent(text="Who ?"),
        model_version="m1",
        labels=list(LABELS),
        probabilities=[0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
        embedding_sketch=sketch,
    )


def test_observe_carries_the_sketch_and_refuses_another_width() -> None:
    assert core.observe(prediction(None), LABELS).sketch is None
    assert core.observe(prediction([0.5] * DIM), LABELS, DIM).sketch == (0.5,) * DIM
    with pytest.raises(core.Rejected, match="has 8 values") as refused:
        core.observe(prediction([0.5] * 8), LABELS, DIM)
    assert refused.value.kind == "sketch"
    with pytest.raises(ValueError, match="NaN"):
        prediction([math.nan] * DIM)


def test_recent_sketches_round_trip_through_their_flat_column() -> None:
    recent = [
        Observation(0.9, 1, 0.2, (1.0, 2.0)),
        Observation(0.8, 2, 0.3, None),
        Observation(0.7, 0, 0.1, (-1.0, 0.5)),
    ]
    flat = flat_sketches(recent, 2)
    assert flat[:2] == [1.0, 2.0] and all(math.isnan(v) for v in flat[2:4])
    assert sketch_rows(flat, 3, 2) == [(1.0, 2.0), None, (-1.0, 0.5)]
    assert flat_sketches(recent[1:2], None) == [] and sketch_rows([], 2, None) == [None, None]
