"""Drift alerts in: the open alerts every replica tightens its policies by."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mitl_contracts.events import DriftAlert
from mitl_runtime.consumer import Received
from mitl_runtime.service import ServiceRuntime

from mitl_router.store import drift


def on_drift_for(
    runtime: ServiceRuntime,
) -> Callable[[list[Received[DriftAlert]]], Awaitable[None]]:
    async def on_drift(batch: list[Received[DriftAlert]]) -> None:
        await drift.record_drift(runtime.pool, [r.event for r in batch])

    return on_drift
