"""The simulator's threshold rules: a class is raised above the pooled threshold only where
its own calibration verdicts are significantly under the target (Policy.class_raise
"significant"), and classes under min_verified share the pooled threshold
(Policy.shared_threshold); the flags restore the policy's defaults."""

from __future__ import annotations

from mitl_cli.commands.simulate import config_from
from mitl_cli.main import build_parser
from mitl_ml.sim.report import _settings
from mitl_ml.sim.runner import SimConfig


def test_the_simulator_raises_a_class_only_where_it_is_significantly_short() -> None:
    policy = SimConfig(dataset="digits", seeds=(0,), target=0.95).policy()
    assert policy.class_raise == "significant" and policy.precision_scope == "dataset"


def test_the_flag_sets_the_policy_and_the_default_parses() -> None:
    parser = build_parser()
    default = config_from(parser.parse_args(["simulate", "--dataset", "digits"]))
    assert default.class_raise == "significant"
    observed = config_from(
        parser.parse_args(["simulate", "--dataset", "digits", "--class-raise", "observed"])
    )
    assert observed.policy().class_raise == "observed"
    # The JSON report names the setting the run used.
    assert _settings(observed)["class_raise"] == "observed"


def test_the_simulator_shares_the_pooled_threshold_and_the_flag_turns_it_off() -> None:
    assert SimConfig(dataset="digits", seeds=(0,), target=0.95).policy().shared_threshold
    parser = build_parser()
    off = config_from(
        parser.parse_args(["simulate", "--dataset", "digits", "--no-shared-threshold"])
    )
    assert not off.policy().shared_threshold and _settings(off)["shared_threshold"] is False
