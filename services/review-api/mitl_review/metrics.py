"""Review's metrics. Names start with mitl_review_.

A counter's child for a set of label values is looked up once (`claims`, `submissions`, ...):
`labels()` takes a lock and checks the values on every call, on every claim and submission.
These counters' children are never removed, and their label values are bounded (datasets of
the catalog, the two queues, the outcomes, actions and roles)."""

from functools import lru_cache

from prometheus_client import Counter, Gauge

TASKS_CREATED = Counter(
    "mitl_review_tasks_created_total",
    "Review tasks created from review requests, by dataset and queue",
    ["dataset", "queue"],
)
CLAIMS = Counter(
    "mitl_review_claims_total",
    "Claims, by dataset, queue and outcome (leased, resumed: the caller's live lease, empty)",
    ["dataset", "queue", "outcome"],
)
SUBMISSIONS = Counter(
    "mitl_review_submissions_total",
    "Submissions that changed a task, by action and the submitter's role",
    ["action", "role"],
)
QUEUE_DEPTH = Gauge(
    "mitl_review_queue_depth",
    "Tasks waiting to be claimed, by dataset and queue",
    ["dataset", "queue"],
)
LEASE_EXPIRIES = Counter(
    "mitl_review_lease_expiries_total",
    "Leases that lapsed before a submission, counted when their task is claimed again",
    ["dataset", "queue"],
)
OUTBOX_PENDING = Gauge(
    "mitl_review_outbox_pending", "Label events written but not yet acknowledged by the broker"
)
TASKS_UPDATED = Counter(
    "mitl_review_tasks_updated_total",
    "Review requests for an item that already had an open task in the queue, by dataset, queue "
    "and outcome (updated: the task took the newer model output; stale: the request was older)",
    ["dataset", "queue", "outcome"],
)
GOLD_SERVED = Counter(
    "mitl_review_gold_served_total",
    "Claims answered with a gold task, by dataset and queue",
    ["dataset", "queue"],
)
# Annotator quality over the window (settings.quality_window_days), refreshed periodically.
ANNOTATOR_LABELS = ["annotator", "dataset"]
ANNOTATOR_CONFIRMATION_RATE = Gauge(
    "mitl_review_annotator_confirmation_ratio",
    "Share of shown suggestions the annotator confirmed",
    ANNOTATOR_LABELS,
)
ANNOTATOR_GOLD_ACCURACY = Gauge(
    "mitl_review_annotator_gold_accuracy_ratio",
    "Share of gold items the annotator answered with the known label",
    ANNOTATOR_LABELS,
)
ANNOTATOR_SPOT_CHECK_AGREEMENT = Gauge(
    "mitl_review_annotator_spot_check_agreement_ratio",
    "Share of blind spot checks where the annotator chose the model's hidden suggestion",
    ANNOTATOR_LABELS,
)
ANNOTATOR_SECONDS_PER_ITEM = Gauge(
    "mitl_review_annotator_task_duration_seconds",
    "Median time the annotator spent on a task",
    ANNOTATOR_LABELS,
)
ANNOTATOR_TASKS_DONE = Gauge(
    "mitl_review_annotator_tasks_done",
    "Tasks the annotator completed in the window",
    ANNOTATOR_LABELS,
)
ANNOTATOR_FLAGGED = Gauge(
    "mitl_review_annotator_flagged",
    "1 when the annotator confirms a lot but answers gold items badly (over-reliance)",
    ANNOTATOR_LABELS,
)


# More than the catalog's datasets times the queues and outcomes; a bound all the same.
CHILDREN = 4096


@lru_cache(maxsize=CHILDREN)
def claims(dataset: str, queue: str, outcome: str) -> Counter:
    return CLAIMS.labels(dataset, queue, outcome)


@lru_cache(maxsize=CHILDREN)
def lease_expiries(dataset: str, queue: str) -> Counter:
    return LEASE_EXPIRIES.labels(dataset, queue)


@lru_cache(maxsize=CHILDREN)
def gold_served(dataset: str, queue: str) -> Counter:
    return GOLD_SERVED.labels(dataset, queue)


@lru_cache(maxsize=CHILDREN)
def submissions(action: str, role: str) -> Counter:
    return SUBMISSIONS.labels(action, role)
