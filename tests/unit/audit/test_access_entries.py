"""An export as a log entry: kind access, who asked and what, in a row that chains and
verifies like any other."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mitl_audit.core import chain
from mitl_audit.core.access import export_entry

AT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_an_export_entry_names_who_and_what_and_chains() -> None:
    entry = export_entry(
        "trec6", "jwt:user-42", "csv", (AT, None), "batch-1", 12, AT.replace(tzinfo=None)
    )
    assert (entry.kind, entry.dataset, entry.action, entry.item_id) == (
        "access",
        "trec6",
        "export",
        None,
    )
    assert entry.occurred_at == AT
    assert json.loads(entry.payload) == {
        "action": "export",
        "by": "jwt:user-42",
        "dataset": "trec6",
        "format": "csv",
        "from": AT.isoformat(),
        "to": None,
        "batch": "batch-1",
        "items": 12,
    }
    again = export_entry("trec6", "jwt:user-42", "csv", (AT, None), "batch-1", 12, AT)
    assert again.event_id != entry.event_id  # each export is an event of its own
    rows = chain.seal([entry, again], chain.Head(), recorded_at=AT)
    assert chain.verify(rows).ok
