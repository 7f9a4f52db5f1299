"""Review's metrics. Names start with mitl_review_."""

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
