"""The Grafana dashboard queries only metrics the services declare, through a data source
variable, so it works against compose's Prometheus and a cluster's alike."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest
import yaml

from tests.deploy.tools import ROOT

pytestmark = pytest.mark.deploy
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "mitl.json"
METRIC_TYPES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}


def declared_series() -> set[str]:
    """Series names exported by the metrics modules of libs/ and services/."""
    out: set[str] = set()
    for path in [*ROOT.glob("libs/**/metrics.py"), *ROOT.glob("services/**/metrics.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in METRIC_TYPES or not node.args:
                continue
            name = node.args[0]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                continue
            base = name.value
            if node.func.id == "Counter":
                base = base.removesuffix("_total")
                out |= {f"{base}_total", f"{base}_created"}
            elif node.func.id in ("Histogram", "Summary"):
                out |= {f"{base}_bucket", f"{base}_sum", f"{base}_count", f"{base}_created"}
            else:
                out.add(base)
    return out


def panels() -> list[dict[str, Any]]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def test_dashboard_queries_declared_metrics_only() -> None:
    declared = declared_series()
    assert "mitl_events_consumed_total" in declared and "mitl_batch_seconds_bucket" in declared
    used: set[str] = set()
    for panel in panels():
        for target in panel["targets"]:
            # Label values are quoted; metric names are the bare mitl_* words.
            bare = re.sub(r'"[^"]*"', '""', target["expr"])
            used |= set(re.findall(r"\bmitl_[a-z0-9_]+\b", bare))
    unknown = used - declared
    assert not unknown, f"the dashboard queries metrics no service declares: {sorted(unknown)}"
    families = {re.sub(r"_(total|bucket|sum|count|created)$", "", name) for name in used}
    for must in ("mitl_events_consumed", "mitl_dead_letters", "mitl_router_decisions"):
        assert must in families


def test_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["targets"], panel["title"]


def test_kubernetes_gets_the_same_dashboard() -> None:
    kustomization = yaml.safe_load((ROOT / "deploy" / "grafana" / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    assert generator["files"] == ["dashboards/mitl.json"]
    assert generator["options"]["labels"]["grafana_dashboard"] == "1"
