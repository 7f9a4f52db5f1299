"""From an `Authorization` header to an allowed Principal, or a refusal saying why: static
tokens and OIDC JWTs tried in turn, then the permission the route needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from mitl_runtime.auth.errors import MISSING, NOT_VALID, Forbidden, Unauthenticated
from mitl_runtime.auth.oidc import PERSON_ROLES, OidcVerifier
from mitl_runtime.auth.principal import Principal
from mitl_runtime.auth.roles import GRANTS, Permission, holders
from mitl_runtime.auth.static import StaticTokens

TOKEN_SETTINGS = {"admin": "MITL_ADMIN_TOKEN", "auditor": "MITL_AUDITOR_TOKEN"}


def bearer(authorization: str | None) -> str:
    """The token of `Authorization: Bearer <token>`; Unauthenticated for none or another
    scheme."""
    if authorization is None or not authorization.strip():
        raise Unauthenticated(MISSING)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "malformed credentials: expected the header 'Authorization: Bearer <token>'"
        )
    return token.strip()


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


@dataclass(frozen=True)
class Authenticator:
    static: StaticTokens = field(default_factory=StaticTokens)
    oidc: OidcVerifier | None = None

    def can_grant(self, permission: Permission) -> bool:
        """Whether any configured source could ever let a caller do this."""
        roles = self.static.roles | (PERSON_ROLES if self.oidc is not None else frozenset())
        return any(permission in GRANTS[role] for role in roles)

    def authenticate(self, token: str) -> Principal:
        if self.oidc is not None and looks_like_jwt(token):
            return self.oidc.verify(token)
        found = self.static.authenticate(token)
        if found is None:
            raise Unauthenticated(NOT_VALID)
        return found

    def authorize(self, authorization: str | None, permission: Permission, what: str) -> Principal:
        token = bearer(authorization)
        if not self.can_grant(permission):
            settings = " or ".join(
                TOKEN_SETTINGS[role] for role in holders(permission) if role in TOKEN_SETTINGS
            )
            raise Forbidden(
                f"{what} over HTTP is off: set {settings or 'MITL_ADMIN_TOKEN'} (or the OIDC "
                "settings) on this service to allow it"
            )
        principal = self.authenticate(token)
        if not principal.may(permission):
            needed = " or ".join(holders(permission))
            held = ", ".join(sorted(principal.roles)) or "no role"
            raise Forbidden(f"{what} needs the role {needed}; this credential has {held}")
        return principal
