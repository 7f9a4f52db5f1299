"""The PolicyChanged event (mitl.policies.v1) the router publishes when learned thresholds
change, so the audit log shows which thresholds were in force and why."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from mitl_contracts.datasets import Policy
from mitl_contracts.events import PolicyChanged

from mitl_policy.calibration import Thresholds


def learned_view(thresholds: Thresholds) -> dict[str, object]:
    """What changes with learning: per-class thresholds (accepted classes only), their bounds
    and the spot-check share."""
    accepted = {c: e for c, e in thresholds.classes.items() if e.threshold is not None}
    return {
        "accept_thresholds": {c: e.threshold for c, e in accepted.items()},
        "lower_bounds": {c: round(e.lower_bound, 6) for c, e in accepted.items()},
        "spot_check_rate": round(thresholds.spot_check_rate, 6),
    }


def policy_changed(
    dataset: str, model_version: str, policy: Policy, thresholds: Thresholds, now: datetime
) -> PolicyChanged:
    """The event id is derived from the learned state: republishing the same state (a
    redelivered batch, another replica) is the same event."""
    view = learned_view(thresholds)
    state = json.dumps([dataset, model_version, policy.version, view], sort_keys=True)
    digest = hashlib.sha256(state.encode()).hexdigest()[:24]
    return PolicyChanged(
        event_id=f"policy-{digest}",
        dataset=dataset,
        occurred_at=now,
        policy_version=f"{policy.version}+learned-{thresholds.outcomes}",
        policy=policy.model_dump() | {"model_version": model_version} | view,
        reason=(
            f"learned per-class thresholds from {thresholds.outcomes} verified items "
            f"for model {model_version}"
        ),
        changed_by="router",
    )
