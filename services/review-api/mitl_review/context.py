"""What the review API's handlers work with, built once per app and handed to them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from mitl_contracts.datasets import Catalog
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.service import ServiceRuntime

from mitl_review.annotators import QualityExporter
from mitl_review.claimed_tasks import ClaimedTasks
from mitl_review.connection_pool import ConnectionPool
from mitl_review.core.leases import LeaseClock
from mitl_review.outbox import OutboxRelay
from mitl_review.request_pool import RequestPool
from mitl_review.settings import Settings
from mitl_review.token_cache import TokenCache


@dataclass(frozen=True)
class Context:
    settings: Settings
    runtime: ServiceRuntime
    catalog: Catalog
    relay: OutboxRelay
    tokens: TokenCache
    # People's OIDC JWTs (single sign-on), when configured; users' own tokens are looked up
    # in the database (routes.deps).
    authenticator: Authenticator = field(default_factory=Authenticator)
    requests: RequestPool = field(default_factory=RequestPool)
    quality: QualityExporter = field(default_factory=QualityExporter)
    # Uniform in [0, 1): whether a claim gets a gold task. Replaceable for tests.
    gold_draw: Callable[[], float] = random.random
    # The clock leases are judged by: the database's. A test advances it (core.leases).
    clock: LeaseClock = field(default_factory=LeaseClock)
    # The tasks this process handed out, decided on at submission without reading them again.
    claimed: ClaimedTasks = field(default_factory=ClaimedTasks)

    @property
    def pool(self) -> ConnectionPool:
        """The pool of request handlers (see request_pool)."""
        return self.requests.pool
