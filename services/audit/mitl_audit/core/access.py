"""Accesses the audit log records about itself: each dataset export, with who asked (the
caller as the guard authenticated them, never a secret), what and how many items. Pure."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from mitl_audit.core.entries import Entry, as_utc


def export_entry(
    dataset: str,
    by: str,
    format: str,
    window: tuple[datetime | None, datetime | None],
    batch: str | None,
    items: int,
    at: datetime,
) -> Entry:
    """The log entry of one export (its own event id: each export is an event)."""
    start, end = window
    payload = {
        "action": "export",
        "by": by,
        "dataset": dataset,
        "format": format,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "batch": batch,
        "items": items,
    }
    return Entry(
        event_id=f"access-export-{uuid.uuid4().hex}",
        kind="access",
        dataset=dataset,
        item_id=None,
        occurred_at=as_utc(at),
        payload=json.dumps(payload, sort_keys=True, separators=(",", ":")),
        action="export",
    )
