"""The simulator raises a class's threshold above the pooled one only where the class's own
calibration verdicts are significantly under the target (Policy.class_raise "significant");
`--class-raise observed` restores the policy's default."""

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
