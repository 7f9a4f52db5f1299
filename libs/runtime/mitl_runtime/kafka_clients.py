"""How every Kafka client of mitl is configured: one place for the options the services'
brokers, the publisher, the CLI, the benchmarks and the tests pass to faststream and aiokafka."""

from __future__ import annotations

from typing import Any

from mitl_runtime.kafka_security import security_options
from mitl_runtime.settings import ServiceSettings

# Bytes a producer batches per partition before a batch is full. aiokafka's default (16 KiB)
# split a 500-event publish into ~20 batches, sent one produce request after another.
MAX_BATCH_BYTES = 512 * 1024


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Options every aiokafka client (producer, consumer, admin) takes: the brokers, and how
    to reach them (security protocol, TLS context, SASL login; kafka_security.py). The SASL
    password is a str whose repr() is masked, so a logged dict of options does not show it."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers, **security_options(settings)}


def producer_options(settings: ServiceSettings, service: str) -> dict[str, Any]:
    """An idempotent producer that waits for every in-sync replica: a retried send is never
    written twice and an acknowledged one survives the loss of the leader. Idempotence keeps
    per-partition order across retries too."""
    return {
        **client_options(settings),
        "client_id": f"mitl-{service}",
        "acks": "all",
        "enable_idempotence": settings.kafka_enable_idempotence,
        "linger_ms": 2,
        "max_batch_size": MAX_BATCH_BYTES,
    }
