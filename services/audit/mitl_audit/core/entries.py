"""What one audited event contributes to the log: its kind, the columns reports query, and
the event itself as JSON. Pure: no I/O.

An `Entry` is a row before it is chained; `chain.seal` gives it a seq, a time and its hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mitl_contracts.events import (
    AccessChanged,
    Decision,
    DriftAlert,
    Event,
    Label,
    ModelPromoted,
    PolicyChanged,
)

# "access": who read what out of the audit service (an export), written by audit itself, and
# who changed which credential or role (AccessChanged, from ingest and review-api).
Kind = Literal["decision", "label", "model", "drift", "policy", "access"]
KINDS: dict[type[Event], Kind] = {
    Decision: "decision",
    Label: "label",
    ModelPromoted: "model",
    DriftAlert: "drift",
    PolicyChanged: "policy",
    AccessChanged: "access",
}
HUMAN_SOURCES = ("annotator", "expert")


class Unloggable(ValueError):
    """The event can never be stored; the message says why (it goes to the dead-letter topic)."""


@dataclass(frozen=True)
class Entry:
    """One log row's content fields, except those the chain assigns (seq, recorded_at)."""

    event_id: str
    kind: Kind
    dataset: str
    item_id: str | None
    occurred_at: datetime
    payload: str
    label: str | None = None
    source: str | None = None
    action: str | None = None
    annotator: str | None = None
    role: str | None = None
    suggested_label: str | None = None
    model_version: str | None = None
    policy_version: str | None = None
    is_override: bool | None = None
    route: str | None = None
    predicted_label: str | None = None
    confidence: float | None = None
    # Added after rows were first chained (migrations/003, 005): see LATER_FIELDS.
    guideline_version: int | None = None
    # A span label's changes to the suggested spans (SpanDiff as JSON text).
    span_changes: str | None = None


ENTRY_FIELDS = tuple(Entry.__dataclass_fields__)
# Columns added to the log after rows were chained without them. A row hashes such a column
# only when it holds a value, so every row chained before the column existed (where it reads
# back null) hashes as it did and still verifies.
LATER_FIELDS = ("guideline_version", "span_changes")


def as_utc(moment: datetime) -> datetime:
    """Timestamps without a zone are taken as UTC, so that a row hashes the same everywhere."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def payload_of(event: Event) -> str:
    """The event as JSON text, or Unloggable if Postgres could not store it unchanged."""
    try:
        text = event.model_dump_json()
        text.encode("utf-8")
    except (UnicodeError, ValueError) as error:
        raise Unloggable(f"event cannot be encoded as UTF-8 JSON: {error}") from None
    # Postgres text and jsonb cannot hold NUL; storing the event altered would defeat the log.
    if "\\u0000" in text:
        raise Unloggable("event contains a NUL character, which the audit log cannot store")
    return text


# The columns an event of each type fills beyond the common ones, each from its field (or
# property: Label.is_override) of the same name.
OWN_FIELDS: dict[type[Event], tuple[str, ...]] = {
    Label: (
        "label",
        "source",
        "action",
        "annotator",
        "role",
        "suggested_label",
        "policy_version",
        "is_override",
        "guideline_version",
    ),
    Decision: ("route", "policy_version", "predicted_label", "confidence"),
    PolicyChanged: ("policy_version",),
    AccessChanged: ("action",),
}


def entry_for(event: Event) -> Entry:
    """The log entry of an audited event; Unloggable if it cannot be stored as it is."""
    kind = KINDS.get(type(event))
    if kind is None:
        raise Unloggable(f"{type(event).__name__} events are not audited")
    common: dict[str, Any] = {
        "event_id": event.event_id,
        "kind": kind,
        "dataset": event.dataset,
        "item_id": getattr(event, "item_id", None),
        "occurred_at": as_utc(event.occurred_at),
        "payload": payload_of(event),
        "model_version": getattr(event, "model_version", None),
    }
    own = {name: getattr(event, name) for name in OWN_FIELDS.get(type(event), ())}
    if isinstance(event, Label) and (changes := event.span_changes) is not None:
        own["span_changes"] = changes.model_dump_json(exclude_none=True)
    return Entry(**common, **own)


def first_of_each(entries: list[Entry], already_logged: set[str]) -> list[Entry]:
    """Entries whose event is not logged yet, each event once, in delivery order."""
    seen = set(already_logged)
    fresh: list[Entry] = []
    for entry in entries:
        if entry.event_id not in seen:
            seen.add(entry.event_id)
            fresh.append(entry)
    return fresh
