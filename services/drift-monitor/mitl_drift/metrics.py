"""Drift-monitor's metrics. Gauges are refreshed from Postgres after each batch, so every
replica reports the state all replicas share, including right after a restart."""

from prometheus_client import Counter, Gauge

STATISTIC = Gauge(
    "mitl_drift_statistic",
    "Latest value of a drift statistic, by dataset, model version and statistic",
    ["dataset", "model_version", "statistic"],
)
ALERT_ACTIVE = Gauge(
    "mitl_drift_alert_active",
    "Model versions of the dataset with an active alert on the statistic (0: none)",
    ["dataset", "statistic"],
)
PREDICTIONS = Counter(
    "mitl_drift_predictions_total",
    "Predictions counted into drift windows, by dataset and model version",
    ["dataset", "model_version"],
)
HUMAN_LABELS = Counter(
    "mitl_drift_human_labels_total",
    "Human labels counted into agreement windows, by dataset and whether the person kept "
    "the model's suggestion",
    ["dataset", "agreed"],
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
