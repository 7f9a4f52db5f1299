"""Ingest's outbox (the runtime's, table ingest.outbox): each client-key change (`mitl
clients`, client_store) writes an AccessChanged event in its own transaction; the running
service's relay publishes them to mitl.access.v1 (at start-up, then every
`outbox_interval_seconds`), so a change made while ingest or the broker is down reaches audit
once both are up."""

from __future__ import annotations

import asyncpg
from mitl_contracts import topics
from mitl_contracts.events import AccessChanged
from mitl_runtime import outbox

SCHEMA = "ingest"


async def add(conn: asyncpg.Connection, event: AccessChanged) -> None:
    await outbox.add(conn, SCHEMA, topics.ACCESS, [event])
