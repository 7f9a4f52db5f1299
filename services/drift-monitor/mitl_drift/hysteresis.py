"""Alert state of one statistic, with hysteresis so a value hovering at the threshold does not
flap between alert and clear.

- Raised when the value exceeds the threshold: severity "critical" above threshold *
  critical_ratio, else "warning".
- A raised warning that later exceeds the critical level is raised again as critical (a
  transition too: consumers such as the trainer act on severity).
- Cleared only after `clear_after` consecutive evaluations below threshold * clear_ratio; any
  evaluation at or above that level restarts the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mitl_drift.config import DriftConfig

Severity = Literal["info", "warning", "critical"]


@dataclass
class AlertState:
    active: bool = False
    severity: Severity = "info"
    # Consecutive evaluations below the clear level while active.
    calm: int = 0
    # Transitions so far: numbers them, and so gives each its deterministic event id.
    transitions: int = 0
    value: float | None = None
    evaluations: int = 0


@dataclass(frozen=True)
class Transition:
    statistic: str
    state: Literal["alert", "clear"]
    severity: Severity
    value: float
    threshold: float
    number: int
    details: dict[str, object]


def severity_of(value: float, threshold: float, config: DriftConfig) -> Severity:
    return "critical" if value > threshold * config.critical_ratio else "warning"


def step(
    state: AlertState,
    statistic: str,
    value: float,
    config: DriftConfig,
    details: dict[str, object] | None = None,
) -> Transition | None:
    """Record one evaluation of `statistic`; return the transition it causes, if any."""
    threshold = config.thresholds[statistic]
    state.value = value
    state.evaluations += 1
    state_change: Literal["alert", "clear"] | None = None
    severity: Severity = state.severity
    if not state.active:
        if value > threshold:
            state_change, severity = "alert", severity_of(value, threshold, config)
            state.active, state.calm = True, 0
    elif value < threshold * config.clear_ratio:
        state.calm += 1
        if state.calm >= config.clear_after:
            state_change, severity = "clear", "info"
            state.active, state.calm = False, 0
    else:
        state.calm = 0
        if state.severity == "warning" and severity_of(value, threshold, config) == "critical":
            state_change, severity = "alert", "critical"
    if state_change is None:
        return None
    state.severity = severity
    state.transitions += 1
    return Transition(
        statistic=statistic,
        state=state_change,
        severity=severity,
        value=value,
        threshold=threshold,
        number=state.transitions,
        details=dict(details or {}),
    )
