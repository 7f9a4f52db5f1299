from prometheus_client import Counter, Gauge

DECISIONS = Counter(
    "mitl_router_decisions_total",
    "Routing decisions, by dataset, route and model version",
    ["dataset", "route", "model_version"],
)
SPOT_CHECKS = Counter(
    "mitl_router_spot_checks_total", "Auto-accepted items also sent to blind review", ["dataset"]
)
DRIFT_TIGHTENED = Gauge(
    "mitl_router_drift_tightened",
    "1 while a drift alert tightens the dataset's policy",
    ["dataset"],
)
