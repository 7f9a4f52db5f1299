"""The AsyncAPI 3.0 document of the platform's topics and the JSON Schema of each event,
generated from the contracts: topic names (`topics`), their layout (`topic_specs`), who
publishes and consumes them (`topology`), the event models (`events.TOPIC_EVENTS`) and the
example payloads.

`document()` is the whole platform; `document(service)` keeps that service's operations and
the channels they use, which is what each service serves at `GET /asyncapi.json`. The JSON
Schemas are named by the subject a schema registry files them under with the topic-name
strategy: `<topic>-value`. `mitl contracts write` writes both into `docs/`, and a test fails
while the checked-in files differ from what the code generates.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic.json_schema import models_json_schema

from mitl_contracts import topic_specs, topics, topology
from mitl_contracts.events import TOPIC_EVENTS
from mitl_contracts.examples import raw_examples

ASYNCAPI_VERSION = "3.0.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
CONTENT_TYPE = "application/json"
DEAD_LETTER = "DeadLetter"

# Headers the dead-letter path adds (mitl_runtime.dlq); the value is the record as it came in.
DEAD_LETTER_HEADERS = {
    "mitl-dlq-reason": "why the record can never be processed (at most 1000 characters)",
    "mitl-dlq-kind": "the kind of fault: a parse error, a contract violation, a handler error",
    "mitl-dlq-topic": "the topic the record was read from",
    "mitl-dlq-partition": "its partition",
    "mitl-dlq-offset": "its offset",
    "mitl-dlq-service": "the service that gave up on it",
    "mitl-dlq-group": "the consumer group that gave up on it",
}
# Headers of a record `mitl dlq replay` published again to its topic (mitl_runtime.replay).
REPLAY_HEADERS = {
    "mitl-replay-group": "the one consumer group that handles this replayed record (the one "
    "that dead-lettered it); every other group skips it",
    "mitl-replayed-from": "the dead letter it was replayed from: <dlq topic>:<partition>:<offset>",
}


def subject(topic: str) -> str:
    """The schema-registry subject of a topic's values (topic-name strategy)."""
    return f"{topic}-value"


def _version() -> str:
    try:
        return version("mitl")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


def event_schemas() -> dict[str, dict[str, Any]]:
    """One self-contained JSON Schema per topic, keyed by its registry subject."""
    out: dict[str, dict[str, Any]] = {}
    for topic in topics.ALL:
        model = TOPIC_EVENTS[topic]
        schema = {"$schema": JSON_SCHEMA_DIALECT, "$id": subject(topic)}
        schema |= model.model_json_schema(mode="validation")
        out[subject(topic)] = schema
    return out


def _components() -> dict[str, Any]:
    models = [TOPIC_EVENTS[t] for t in topics.ALL]
    _, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    messages: dict[str, Any] = {}
    for topic in topics.ALL:
        model = TOPIC_EVENTS[topic]
        messages[model.__name__] = {
            "name": model.__name__,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": CONTENT_TYPE,
            "headers": {
                "type": "object",
                "properties": {
                    name: {"type": "string", "description": text}
                    for name, text in REPLAY_HEADERS.items()
                },
            },
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "bindings": {
                "kafka": {
                    "key": {
                        "type": "string",
                        "description": "the item id (the dataset for events of no one item)",
                    },
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
            "examples": [
                {"name": f"example-{i}", "payload": payload}
                for i, payload in enumerate(raw_examples(topic)[:1])
            ],
        }
    messages[DEAD_LETTER] = {
        "name": DEAD_LETTER,
        "title": DEAD_LETTER,
        "summary": "A record no consumer could process, as it came in, with the reason in headers.",
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": text}
                for name, text in DEAD_LETTER_HEADERS.items()
            },
            "required": sorted(DEAD_LETTER_HEADERS),
        },
        "payload": {"description": "the original record's bytes, unchanged"},
    }
    return {"messages": messages, "schemas": dict(sorted(defs["$defs"].items()))}


def _channel(topic: str) -> dict[str, Any]:
    spec = topic_specs.spec(topic)
    message = DEAD_LETTER if spec.role == "dlq" else TOPIC_EVENTS[topic].__name__
    return {
        "address": topic,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {
            "kafka": {
                "topic": topic,
                "partitions": spec.partitions,
                "replicas": spec.replication_factor,
                "topicConfiguration": {
                    "cleanup.policy": [spec.cleanup_policy],
                    "retention.ms": spec.retention_ms,
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _operation(service: str, action: str, topic: str) -> tuple[str, dict[str, Any]]:
    message = DEAD_LETTER if topic_specs.spec(topic).role == "dlq" else TOPIC_EVENTS[topic].__name__
    verb = "publishes" if action == "send" else "consumes"
    return f"{service}.{action}.{topic}", {
        "action": action,
        "title": f"{service} {verb} {topic}",
        "channel": {"$ref": f"#/channels/{topic}"},
        "messages": [{"$ref": f"#/channels/{topic}/messages/{message}"}],
    }


def _operations(service: str) -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for topic in topology.consumed_by(service):
        ops.update([_operation(service, "receive", topic)])
    for topic in topology.published_by(service):
        ops.update([_operation(service, "send", topic)])
    # What a consumer cannot process goes to the topic's dead-letter topic.
    for topic in topology.consumed_by(service):
        ops.update([_operation(service, "send", topics.dlq(topic))])
    return ops


def document(service: str | None = None) -> dict[str, Any]:
    """The AsyncAPI document: the platform's, or the part of it `service` takes part in."""
    if service is not None and service not in topology.SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(topology.SERVICES)}")
    services = topology.SERVICES if service is None else (service,)
    operations: dict[str, Any] = {}
    for name in services:
        operations |= _operations(name)
    if service is None:
        for topic in topics.ALL:
            if topology.CLIENT in topology.PRODUCERS[topic]:
                operations.update([_operation(topology.CLIENT, "send", topic)])
    used = {op["channel"]["$ref"].removeprefix("#/channels/") for op in operations.values()}
    channels = {name: _channel(name) for name in topic_specs.names() if name in used}
    components = _components()
    messages_used = {next(iter(c["messages"])) for c in channels.values()}
    components["messages"] = {k: v for k, v in components["messages"].items() if k in messages_used}
    title = "mitl" if service is None else f"mitl {service}"
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": _version(),
            "description": (
                "The Kafka topics of mitl, a model-in-the-loop labeling platform: who publishes"
                " and who consumes each, and the JSON payload of each event. Within a topic"
                " version, changes are additive (new fields have defaults). Every event is keyed"
                " by its item id, so one item's events stay in order on one partition."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "the Kafka cluster (MITL_KAFKA_BOOTSTRAP_SERVERS)",
                "variables": {"bootstrap": {"default": "localhost:9092"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": components,
    }
