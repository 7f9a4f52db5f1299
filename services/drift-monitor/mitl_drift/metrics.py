"""Drift-monitor's metrics. Gauges are refreshed from Postgres after each batch, so every
replica reports the state all replicas share, including right after a restart."""

from prometheus_client import Counter, Gauge

# A statistic's series: one per dataset, model version, statistic and segment (all, or
# class:<label>), the same for its latest value and its alert's severity.
SEGMENT = ["dataset", "model_version", "statistic", "segment"]

STATISTIC = Gauge(
    "mitl_drift_statistic",
    "Latest value of a drift statistic, by dataset, model version, statistic and segment "
    "(all, or class:<label>)",
    SEGMENT,
)
ALERT_ACTIVE = Gauge(
    "mitl_drift_alert_active",
    "Active alerts of the dataset on the statistic, counting model versions and segments (0: none)",
    ["dataset", "statistic"],
)
ALERT_SEVERITY = Gauge(
    "mitl_drift_alert_severity",
    "Severity of the open alert of a statistic and segment: 0 none, 1 warning, 2 critical",
    SEGMENT,
)
PREDICTIONS = Counter(
    "mitl_drift_predictions_total",
    "Predictions counted into drift windows, by dataset and model version",
    ["dataset", "model_version"],
)
HUMAN_LABELS = Counter(
    "mitl_drift_human_labels_total",
    "Human labels counted into agreement windows, by dataset, whether the person kept the "
    "model's label and whether it was hidden (blind: a spot check)",
    ["dataset", "agreed", "blind"],
)
DUPLICATES = Counter(
    "mitl_drift_duplicates_total",
    "Events not counted because their event_id was counted before, by stream",
    ["stream"],
)
TRANSITIONS = Counter(
    "mitl_drift_transitions_total",
    "Alert transitions, by dataset, statistic, state and severity",
    ["dataset", "statistic", "state", "severity"],
)
