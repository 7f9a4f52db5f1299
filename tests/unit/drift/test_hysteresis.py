"""Alert state machine: raise, escalate, and clear only after sustained calm."""

from __future__ import annotations

from mitl_drift.config import CONFIDENCE_PSI, DriftConfig
from mitl_drift.hysteresis import AlertState, step

CONFIG = DriftConfig(clear_ratio=0.5, clear_after=3, critical_ratio=2.0)  # psi threshold 0.2


def run(values: list[float], state: AlertState | None = None) -> list[tuple[str, str] | None]:
    state = state or AlertState()
    out: list[tuple[str, str] | None] = []
    for value in values:
        transition = step(state, CONFIDENCE_PSI, value, CONFIG)
        out.append((transition.state, transition.severity) if transition else None)
    return out


def test_below_threshold_never_alerts() -> None:
    assert run([0.0, 0.1, 0.19, 0.2]) == [None, None, None, None]


def test_crossing_raises_a_warning_once() -> None:
    assert run([0.1, 0.25, 0.3, 0.35]) == [None, ("alert", "warning"), None, None]


def test_above_twice_the_threshold_is_critical() -> None:
    assert run([0.5]) == [("alert", "critical")]


def test_a_warning_that_worsens_is_raised_again_as_critical() -> None:
    assert run([0.25, 0.45, 0.6, 0.3]) == [("alert", "warning"), ("alert", "critical"), None, None]


def test_clears_only_after_consecutive_evaluations_below_the_clear_level() -> None:
    # Under the threshold but above threshold * clear_ratio (0.1) does not count as calm.
    values = [0.3, 0.15, 0.15, 0.05, 0.05, 0.15, 0.05, 0.05, 0.05]
    assert run(values) == [("alert", "warning"), *[None] * 7, ("clear", "info")]


def test_transitions_are_numbered_and_the_state_remembers_them() -> None:
    state = AlertState()
    numbers = []
    for value in [0.3, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0]:
        transition = step(state, CONFIDENCE_PSI, value, CONFIG, {"why": "test"})
        if transition:
            numbers.append((transition.number, transition.state, transition.details))
    assert numbers == [
        (1, "alert", {"why": "test"}),
        (2, "clear", {"why": "test"}),
        (3, "alert", {"why": "test"}),
        (4, "clear", {"why": "test"}),
    ]
    assert not state.active and state.value == 0.0 and state.evaluations == 8
