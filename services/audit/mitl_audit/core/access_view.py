"""An access row of the chain as an auditor reads it: who did what to whom. Pure.

Two kinds of rows are access rows: audit's own record of an export (its payload names the
caller as `by`) and an AccessChanged event from ingest or review-api (`actor`, `subject`,
`changes`). Both are shown in one shape."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AccessRow(BaseModel):
    seq: int = Field(description="The row's place in the chain")
    occurred_at: datetime
    recorded_at: datetime
    service: str = Field(description="Where it happened: audit (exports), ingest, review-api")
    action: str = Field(description="export, client.create, user.disable, …")
    actor: str = Field(description="Who did it: user:<id>, cli:<os user>, oidc:<issuer>, …")
    subject: str = Field(description="Whose credential or role; for an export, the dataset")
    changes: dict[str, Any] = Field(description="What changed (never a secret)")
    row_hash: str


class AccessLog(BaseModel):
    rows: list[AccessRow]


EXPORT_FIELDS_SHOWN = ("format", "from", "to", "batch", "items")


def access_row(
    seq: int,
    occurred_at: datetime,
    recorded_at: datetime,
    dataset: str,
    action: str | None,
    payload: str | dict[str, Any],
    row_hash: str,
) -> AccessRow:
    body: dict[str, Any] = json.loads(payload) if isinstance(payload, str) else payload
    common = {
        "seq": seq,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "action": action or str(body.get("action", "")),
        "row_hash": row_hash,
    }
    if "actor" in body:  # an AccessChanged event
        return AccessRow(
            **common,
            service=str(body.get("service", "")),
            actor=str(body["actor"]),
            subject=str(body.get("subject", "")),
            changes=dict(body.get("changes") or {}),
        )
    return AccessRow(
        **common,
        service="audit",
        actor=str(body.get("by", "")),
        subject=dataset,
        changes={k: body.get(k) for k in EXPORT_FIELDS_SHOWN if k in body},
    )
