"""The trainer's metrics (names prefixed `mitl_trainer_`)."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "mitl_trainer_requests_total",
    "Retraining requests made, by dataset and trigger",
    ["dataset", "trigger"],
)
RUNS = Counter(
    "mitl_trainer_runs_total",
    "Retraining requests worked off, by dataset and outcome (skipped: too few labels, after "
    "waiting up to content_wait_s for labeled items' content; "
    "unchanged: same data as an earlier model; candidate; champion; failed)",
    ["dataset", "outcome"],
)
TRAINING_SECONDS = Histogram(
    "mitl_trainer_training_seconds",
    "Time to train, evaluate and store one candidate",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800),
)
VERIFIED_LABELS = Gauge(
    "mitl_trainer_verified_items", "Items of the dataset with a human label", ["dataset"]
)
HOLDOUT_ACCURACY = Gauge(
    "mitl_trainer_holdout_accuracy_ratio",
    "Holdout accuracy (a span model: entity-level F1) of the latest candidate and of the "
    "champion it was compared with",
    ["dataset", "model"],
)
IGNORED = Counter(
    "mitl_trainer_events_ignored_total",
    "Events the trainer has no use for, by topic and reason (dataset not trained here)",
    ["topic", "reason"],
)
