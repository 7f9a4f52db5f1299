"""Waiting for a scenario's items to come to rest, then counting them.

At rest means: no item is missing anything (census), every platform consumer group has
committed everything on its topics (lag 0), and the review outbox has nothing unpublished.
A service that died meanwhile ends the wait at once (ServiceDied): nothing would heal it.
Then nothing is in flight that could still add a row, so one more census counts every
duplicate that will ever appear. An item still missing something at the deadline is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

from mitl_runtime.progress import Report

from mitl_cli.chaos.census import Census, tally
from mitl_cli.chaos.evidence import gather
from mitl_cli.chaos.identity import check_alive
from mitl_cli.chaos.lab import Lab

POLL_S = 0.5


async def until_rest(
    lab: Lab, items: Collection[str], timeout_s: float, progress: Report | None = None
) -> float | None:
    """The moment (time.monotonic) `items` were seen at rest; None if not within `timeout_s`.
    `progress` hears how many items are missing nothing (they may still be in flight)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() <= deadline:
        check_alive(lab.stack)
        evidence = await gather(lab.database_url, list(items))
        quiet = (await lab.lag.sample()).total == 0 and evidence.outbox_pending == 0
        census = tally(items, evidence)
        if progress is not None:
            progress(len(items) - len(census.lost_items), len(items))
        if quiet and census.settled:
            return time.monotonic()
        await asyncio.sleep(POLL_S)
    return None


async def at_rest(
    lab: Lab, items: Collection[str], timeout_s: float, progress: Report | None = None
) -> Census:
    await until_rest(lab, items, timeout_s, progress)
    # Counted once more after everything was at rest: a late duplicate would be here now.
    return tally(items, await gather(lab.database_url, list(items)))


async def caught_up(lab: Lab, baseline: int, since: float, timeout_s: float) -> float | None:
    """Seconds from `since` until total consumer lag is back to `baseline` (what it was before
    the fault); None if it is not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check_alive(lab.stack)
        if (await lab.lag.sample()).total <= baseline:
            return time.monotonic() - since
        await asyncio.sleep(0.25)
    return None
