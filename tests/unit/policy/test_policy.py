"""Bad policies are refused with a message naming the field."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Policy
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"target_precision": 1.0}, "target_precision"),
        ({"target_precision": 0.0}, "target_precision"),
        ({"target_precision": -0.5}, "target_precision"),
        ({"uncertainty": "random"}, "uncertainty"),
        ({"bound": "hoeffding"}, "bound"),
        ({"precision_scope": "global"}, "precision_scope"),
        ({"new_model_start": "warm"}, "new_model_start"),
        ({"confidence_level": 1.0}, "confidence_level"),
        ({"target_precision": 0.9, "accept_threshold": 0.8}, "accept_threshold and target"),
        ({"spot_check_rate": 0.3, "spot_check_max_rate": 0.1}, "spot_check_max_rate"),
        (
            {"target_precision": 0.9, "escalation_floor": 0.6, "min_accept_threshold": 0.5},
            "min_accept_threshold",
        ),
        ({"accept_threshold": 0.5, "escalation_floor": 0.6}, "escalation_floor"),
    ],
)
def test_refused_naming_the_field(fields: dict, named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Policy(**fields)


def test_defaults_and_a_learning_policy_are_valid() -> None:
    assert not Policy().learns_thresholds
    policy = Policy(target_precision=0.98, escalation_floor=0.3)
    assert policy.learns_thresholds and policy.spot_check_ceiling == 0.1
    assert Policy(spot_check_rate=0.3).spot_check_ceiling == 0.3
