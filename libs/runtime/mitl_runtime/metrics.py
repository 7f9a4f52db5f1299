"""Metrics every service exports; each service declares its own in its `metrics` module."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "mitl_events_consumed_total", "Events consumed, by topic and service", ["service", "topic"]
)
EVENTS_PUBLISHED = Counter(
    "mitl_events_published_total", "Events published, by topic and service", ["service", "topic"]
)
DEAD_LETTERS = Counter(
    "mitl_dead_letters_total",
    "Messages sent to a dead-letter topic, by source topic and reason kind",
    ["service", "topic", "kind"],
)
BATCH_SECONDS = Histogram(
    "mitl_batch_seconds",
    "Time to process one consumed batch, by topic",
    ["service", "topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECORD_AGE_SECONDS = Histogram(
    "mitl_record_age_seconds",
    "Age of a consumed batch's oldest record (its Kafka timestamp) when handling starts: time "
    "spent in the producer, the broker and the consumer's queue",
    ["service", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter(
    "mitl_transient_failures_total",
    "Batches that failed transiently and will be redelivered",
    ["service", "topic"],
)
CONSUMER_LAG = Gauge(
    "mitl_consumer_lag_records",
    "Records a consumer group has yet to process on a partition: the partition's high-water"
    " mark (as of the consumer's latest fetch) minus the offset after the last record handled",
    ["service", "group", "topic", "partition"],
)
FRESH_BATCH_RECORDS = Counter(
    "mitl_fresh_batch_records_total",
    "Records added to a stale batch on the item path from the fetch in flight (fresh_batch.py):"
    " each would otherwise have waited for the next batch",
    ["service", "topic"],
)
BACKLOG_BATCH_RECORDS = Counter(
    "mitl_backlog_batch_records_total",
    "Records added to a full batch on the item path from what was already fetched (a backlog;"
    " fresh_batch.py, MITL_KAFKA_BACKLOG_BATCH)",
    ["service", "topic"],
)
