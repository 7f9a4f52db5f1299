"""What the review API's handlers work with, built once per app and handed to them."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from mitl_contracts.datasets import Catalog
from mitl_runtime.service import ServiceRuntime

from mitl_review.outbox import OutboxRelay
from mitl_review.settings import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    runtime: ServiceRuntime
    catalog: Catalog
    relay: OutboxRelay

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool
