"""Example payloads per topic, kept beside the contracts and run through every consumer."""

from __future__ import annotations

import importlib.resources
import json

from mitl_contracts.events import TOPIC_EVENTS, Event


def raw_examples(topic: str) -> list[dict[str, object]]:
    text = importlib.resources.files("mitl_contracts").joinpath("examples", f"{topic}.json")
    return list(json.loads(text.read_text()))


def examples(topic: str) -> list[Event]:
    """The examples of `topic`, parsed with the topic's event model."""
    event_type = TOPIC_EVENTS[topic]
    return [event_type.model_validate(payload) for payload in raw_examples(topic)]
