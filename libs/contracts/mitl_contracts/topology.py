"""Who publishes and who consumes each topic: the event flow between the services, declared
once. The AsyncAPI document (`mitl_contracts.asyncapi`) is built from it, and a test reads the
services' code to check that every `publish` and `subscribe` is declared here."""

from __future__ import annotations

from mitl_contracts import topics

# A client system outside the platform, publishing raw items (or posting them to ingest's API).
CLIENT = "client"

SERVICES = ("ingest", "inference", "router", "review-api", "audit", "drift-monitor", "trainer")

PRODUCERS: dict[str, tuple[str, ...]] = {
    topics.ITEMS_RAW: (CLIENT,),
    topics.ITEMS_INGESTED: ("ingest",),
    # Ingest passes on the predictions a client sent with its items; inference scores the rest.
    topics.PREDICTIONS: ("ingest", "inference"),
    topics.DECISIONS: ("router",),
    topics.REVIEW_REQUESTED: ("router",),
    # Router: labels it accepted from the model; review-api: labels people gave.
    topics.LABELS: ("router", "review-api"),
    # Trainer: candidates; inference: promotions to champion.
    topics.MODELS: ("inference", "trainer"),
    topics.DRIFT: ("drift-monitor",),
    topics.POLICIES: ("router",),
    # Client keys (ingest) and users and roles (review-api) as they change.
    topics.ACCESS: ("ingest", "review-api"),
}

CONSUMERS: dict[str, tuple[str, ...]] = {
    topics.ITEMS_RAW: ("ingest",),
    topics.ITEMS_INGESTED: ("inference", "audit", "trainer"),
    topics.PREDICTIONS: ("router", "drift-monitor"),
    topics.DECISIONS: ("audit",),
    topics.REVIEW_REQUESTED: ("review-api",),
    topics.LABELS: ("inference", "router", "audit", "drift-monitor", "trainer"),
    topics.MODELS: ("inference", "audit", "trainer"),
    topics.DRIFT: ("router", "audit", "trainer"),
    topics.POLICIES: ("audit",),
    topics.ACCESS: ("audit",),
}

if set(PRODUCERS) != set(topics.ALL) or set(CONSUMERS) != set(topics.ALL):  # pragma: no cover
    raise RuntimeError("every topic needs its producers and consumers declared")


def published_by(service: str) -> list[str]:
    return [t for t in topics.ALL if service in PRODUCERS[t]]


def consumed_by(service: str) -> list[str]:
    return [t for t in topics.ALL if service in CONSUMERS[t]]
