"""The alerting rules: Prometheus' own rule parser (built by `make rulecheck` from Prometheus'
Go module, the parser `promtool check rules` uses) accepts them, both as compose's rule file and
as the PrometheusRule each overlay carries; they query only metrics the services declare; and
they cover what an operator must hear about."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import tools
from tests.deploy.conftest import Overlay
from tests.deploy.test_dashboard import declared_series

pytestmark = pytest.mark.deploy
RULECHECK = tools.ROOT / ".local" / "bin" / "rulecheck"
RULES = tools.ROOT / "deploy" / "prometheus" / "rules.yml"


def rulecheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    if not RULECHECK.is_file():
        raise FileNotFoundError(f"no {RULECHECK}: run `make rulecheck`")
    return subprocess.run(
        [str(RULECHECK), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=tools.TIMEOUT,
        check=False,
    )


def alerts(groups: list[dict]) -> dict[str, dict]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_compose_rule_file_parses() -> None:
    result = rulecheck(RULES)
    assert result.returncode == 0, result.stderr
    assert "SUCCESS: 6 rules" in result.stdout


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_overlay_rules_parse_and_match_compose(
    name: str, overlays: dict[str, Overlay], tmp_path: Path
) -> None:
    (rule,) = overlays[name].of_kind("PrometheusRule")
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = rulecheck(path)
    assert result.returncode == 0, result.stderr
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_the_checker_rejects_a_broken_expression(tmp_path: Path) -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    groups[0]["rules"][0]["expr"] = "sum by (topic) (mitl_consumer_lag_records > "
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = rulecheck(path)
    assert result.returncode == 1
    assert "MitlConsumerLagHigh" in result.stderr or "parse error" in result.stderr


def test_rules_query_declared_metrics_only() -> None:
    declared = declared_series()
    for name, rule in alerts(yaml.safe_load(RULES.read_text())["groups"]).items():
        bare = re.sub(r'"[^"]*"', '""', rule["expr"])
        used = set(re.findall(r"\bmitl_[a-z0-9_]+\b", bare))
        assert used, name
        assert used <= declared, (name, sorted(used - declared))


def test_rules_cover_lag_dead_letters_drift_precision_and_over_reliance() -> None:
    rules = alerts(yaml.safe_load(RULES.read_text())["groups"])
    watched = {
        "mitl_consumer_lag_records": "lag",
        "mitl_dead_letters_total": "dead letters",
        "mitl_drift_alert_active": "drift",
        "mitl_router_spot_check_precision_upper_bound_ratio": "precision under target",
        "mitl_review_annotator_flagged": "over-reliance",
    }
    for metric, what in watched.items():
        assert any(metric in r["expr"] for r in rules.values()), what
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
