"""Review's outbox relay is the runtime's (`mitl_runtime.outbox.OutboxRelay`), on the outbox
table of schema `review`. A submission wakes it after its commit instead of publishing itself,
so an HTTP answer never waits for the broker, and the labels of many concurrent submissions go
out in one batch; it also flushes at start-up and every maintenance interval."""

from __future__ import annotations

from mitl_runtime.outbox import OutboxRelay

SCHEMA = "review"

__all__ = ["SCHEMA", "OutboxRelay"]
