"""The authenticated caller: who (a stable subject), which roles, how they proved it, and, for
a client key, the datasets it is scoped to."""

from __future__ import annotations

from dataclasses import dataclass
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

    def may(self, permission: Permission) -> bool:
        return allows(self.roles, permission)

    def may_use(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets

    def describe(self) -> str:
        """Who, for the audit trail and logs: never a secret."""
        return f"{self.via}:{self.subject}"
