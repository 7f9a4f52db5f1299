"""The authenticated caller: who (a stable subject), which roles, how they proved it, and, for
a client key, the datasets it is scoped to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mitl_runtime.auth.roles import Permission, Role, allows

Via = Literal["static-token", "jwt", "client-key"]


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    via: Via
    # None: every dataset; else only these.
    datasets: frozenset[str] | None = None
    # For a JWT: its issuer, and the name to show for the person (from the configured claim).
    issuer: str | None = None
    display_name: str | None = None
    # When the credential stops being valid (a JWT's exp); None: not known to expire.
    expires_at: datetime | None = None

    def may(self, permission: Permission) -> bool:
        return allows(self.roles, permission)

    def may_use(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets

    def describe(self) -> str:
        """Who, for the audit trail and logs: never a secret."""
        return f"{self.via}:{self.subject}"
