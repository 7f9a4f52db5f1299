"""Spot checks (blind human labels) have windows of their own: a fall in the share that kept the
model's label, its estimated precision, raises spot_check_drop; shown labels stay apart."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from mitl_contracts.events import Label
from mitl_drift import core
from mitl_drift.config import AGREEMENT_DROP, SPOT_CHECK_DROP, AgreementSizes, DriftConfig

from tests.unit.drift.streams import LABELS

NOW = datetime(2024, 1, 1, tzinfo=UTC)
CONFIG = DriftConfig(spot_check=AgreementSizes(reference=50, window=50, evaluate_every=20))


def test_a_label_given_without_the_suggestion_is_a_spot_check() -> None:
    base = {
        "dataset": "trec6",
        "item_id": "i1",
        "label": "HUM",
        "source": "annotator",
        "action": "confirm",
        "suggested_label": "HUM",
        "model_version": "m1",
    }
    shown, hidden = Label(**base), Label(**base, suggestion_shown=False)
    assert not core.blind(shown) and core.blind(hidden)
    assert core.human_agreement(hidden) is True


def test_a_fall_in_spot_check_precision_alerts_on_its_own_statistic() -> None:
    rng = np.random.default_rng(3)
    state = core.MonitorState.new("trec6", "m1", LABELS)
    steady = (rng.random(300) < 0.92).tolist()
    assert core.observe_spot_checks(state, steady, CONFIG, NOW) == []
    assert state.spot_checks_seen == 300 and state.human_labels_seen == 0
    falling = (rng.random(60) < 0.4).tolist()
    alerts = core.observe_spot_checks(state, falling, CONFIG, NOW)
    assert alerts and {(a.statistic, a.segment) for a in alerts} == {(SPOT_CHECK_DROP, "all")}
    last = alerts[-1]
    assert last.severity == "critical"
    assert last.details["recent_agreement"] < 0.7 < last.details["reference_agreement"]
    assert (last.window_size, last.reference_size) == (50, 50)
    # Shown labels have not been counted, so agreement_drop was never evaluated.
    assert (AGREEMENT_DROP, "all") not in state.alerts
