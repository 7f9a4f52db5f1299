"""Access rows as an auditor reads them: an export and an AccessChanged in one shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mitl_audit.core.access_view import access_row

AT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_an_access_change_names_actor_subject_and_changes() -> None:
    payload = {
        "service": "review-api",
        "action": "user.assign",
        "actor": "user:alice",
        "subject": "bob",
        "changes": {"datasets": ["trec6"]},
    }
    row = access_row(7, AT, AT, "mitl:access", "user.assign", json.dumps(payload), "h")
    assert (row.service, row.action, row.actor, row.subject) == (
        "review-api",
        "user.assign",
        "user:alice",
        "bob",
    )
    assert row.changes == {"datasets": ["trec6"]}


def test_an_export_is_shown_with_its_caller_and_dataset() -> None:
    payload = {"action": "export", "by": "jwt:ann", "dataset": "trec6", "format": "csv",
               "from": None, "to": None, "batch": None, "items": 3}  # fmt: skip
    row = access_row(8, AT, AT, "trec6", "export", payload, "h")
    assert (row.service, row.actor, row.subject) == ("audit", "jwt:ann", "trec6")
    assert row.changes == {"format": "csv", "from": None, "to": None, "batch": None, "items": 3}
