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
OUTCOMES = Counter(
    "mitl_router_outcomes_total",
    "Human labels joined to decisions: confirmed, overridden, or unmatched (no decision)",
    ["dataset", "result"],
)
THRESHOLD = Gauge(
    "mitl_router_learned_threshold",
    "Learned accept threshold per class (1.0 while the class is not auto-accepted)",
    ["dataset", "model_version", "label"],
)
DISAGREEMENTS = Counter(
    "mitl_router_disagreements_total",
    "Items sent to an expert because annotators disagreed",
    ["dataset"],
)
TARGET_PRECISION = Gauge(
    "mitl_router_target_precision_ratio",
    "The precision the dataset's policy promises for its auto-accepted labels",
    ["dataset"],
)
SPOT_CHECKED = Gauge(
    "mitl_router_spot_checks_verified",
    "Spot checks of auto-accepted labels that a person has answered, per model version",
    ["dataset", "model_version"],
)
SPOT_CHECK_PRECISION_BOUND = Gauge(
    "mitl_router_spot_check_precision_lower_bound_ratio",
    "Lower confidence bound (the policy's bound and level) on the precision of auto-accepted"
    " labels, from their answered spot checks: at or above the target, the spot checks alone"
    " certify the promise",
    ["dataset", "model_version"],
)
SPOT_CHECK_PRECISION_UPPER = Gauge(
    "mitl_router_spot_check_precision_upper_bound_ratio",
    "Upper confidence bound on the precision of auto-accepted labels, from their answered spot"
    " checks; under the target, the accepted labels are worse than promised at that confidence",
    ["dataset", "model_version"],
)
