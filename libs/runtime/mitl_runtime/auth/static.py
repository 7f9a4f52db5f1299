"""Static bearer tokens configured per deployment (from Secrets: MITL_ADMIN_TOKEN,
MITL_AUDITOR_TOKEN), each granting one role. Only their sha256 is held in memory; a presented
token is hashed and compared against every entry in constant time."""

from __future__ import annotations

from dataclasses import dataclass, field

from mitl_runtime.auth.principal import Principal
from mitl_runtime.auth.roles import Role
from mitl_runtime.auth.tokens import hash_token, same_digest


@dataclass(frozen=True)
class StaticTokens:
    # (role, sha256 of the token); a role appears at most once.
    entries: tuple[tuple[Role, str], ...] = field(default=())

    @classmethod
    def of(cls, tokens: dict[Role, str | None]) -> StaticTokens:
        """From role -> token (None or blank: that role has no static token)."""
        return cls(
            tuple(
                (role, hash_token(token))
                for role, token in tokens.items()
                if token is not None and token.strip()
            )
        )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(role for role, _ in self.entries)

    def authenticate(self, token: str) -> Principal | None:
        digest = hash_token(token)
        found: Role | None = None
        for role, expected in self.entries:  # no early exit: every entry is compared
            if same_digest(digest, expected):
                found = role
        if found is None:
            return None
        return Principal(subject=f"{found}-token", roles=frozenset({found}), via="static-token")
