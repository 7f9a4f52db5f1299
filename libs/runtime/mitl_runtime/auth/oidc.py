"""OIDC-issued JWTs: signature by a key of the issuer's JWKS (read from a file, or fetched from
a URL and cached), then issuer, audience, expiry and not-before, then roles from a configured
claim. Only asymmetric algorithms are taken (never `none`, never an HMAC that a public key
could forge), and the header's algorithm must be the key's.

Every failure raises the same Unauthenticated (errors.NOT_VALID): the caller learns that the
token was refused, not which check passed. The reason is logged, without the token."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from mitl_runtime.auth.errors import NOT_VALID, Unauthenticated, Unavailable
from mitl_runtime.auth.principal import Principal
from mitl_runtime.auth.roles import ROLES, Role

log = logging.getLogger(__name__)

ALGORITHMS: tuple[str, ...] = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
# Roles a person's JWT may carry: a client is a service with a scoped key, not a login.
PERSON_ROLES: frozenset[Role] = frozenset(r for r in ROLES if r != "client")


class Keys(Protocol):
    def key_for(self, kid: str | None) -> PyJWK | None: ...


@dataclass(frozen=True)
class FileKeys:
    """A JWKS read once from a file (a mounted Secret or ConfigMap)."""

    keyset: PyJWKSet

    @classmethod
    def read(cls, path: Path) -> FileKeys:
        return cls(PyJWKSet.from_dict(json.loads(path.read_text())))

    def key_for(self, kid: str | None) -> PyJWK | None:
        keys = self.keyset.keys
        if kid is None:
            return keys[0] if len(keys) == 1 else None
        return next((k for k in keys if k.key_id == kid), None)


class UrlKeys:
    """A JWKS fetched from the issuer's URL, cached; refetched for an unknown `kid`."""

    def __init__(self, url: str, lifespan_s: float = 300.0) -> None:
        self.client = PyJWKClient(url, cache_keys=True, lifespan=int(lifespan_s), timeout=10)

    def key_for(self, kid: str | None) -> PyJWK | None:
        try:
            if kid is None:
                keys = self.client.get_signing_keys()
                return keys[0] if len(keys) == 1 else None
            return self.client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as error:
            log.warning("the OIDC keys could not be fetched: %s", error)
            raise Unavailable("the identity provider's keys cannot be fetched now") from None
        except jwt.PyJWKClientError:
            return None


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (`roles`, `realm_access.roles`), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def roles_from(value: Any) -> frozenset[Role]:
    """Known person roles in a claim: a list of strings or one space-separated string."""
    names = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    return frozenset(r for r in PERSON_ROLES if r in {n for n in names if isinstance(n, str)})


@dataclass(frozen=True)
class OidcVerifier:
    issuer: str
    audience: str
    keys: Keys
    roles_claim: str = "roles"
    leeway_s: float = 30.0
    # The claim holding the name to show for the person; then preferred_username, then sub.
    name_claim: str = "name"

    def _refuse(self, reason: str) -> Unauthenticated:
        log.info("a JWT was refused: %s", reason)
        return Unauthenticated(NOT_VALID)

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise self._refuse("not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise self._refuse(f"algorithm {algorithm!r} is not accepted")
        kid = header.get("kid")
        key = self.keys.key_for(kid if isinstance(kid, str) else None)
        if key is None:
            raise self._refuse("no key of the issuer has this kid")
        if key.algorithm_name != algorithm:
            raise self._refuse(f"the key is for {key.algorithm_name}, the token says {algorithm}")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise self._refuse(f"{type(error).__name__}: {error}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise self._refuse("no subject")
        return Principal(
            subject=subject,
            roles=roles_from(claim_at(claims, self.roles_claim)),
            via="jwt",
            issuer=self.issuer,
            display_name=display_name(claims, self.name_claim),
            expires_at=expiry(claims),
        )


NAME_MAX_CHARS = 200


def expiry(claims: Mapping[str, Any]) -> datetime | None:
    """The `exp` claim as a time (PyJWT checked it is a number)."""
    value = claims.get("exp")
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def display_name(claims: Mapping[str, Any], name_claim: str) -> str | None:
    """The first non-blank string of the configured name claim and preferred_username,
    trimmed to NAME_MAX_CHARS; None if neither holds one."""
    for path in (name_claim, "preferred_username"):
        value = claim_at(claims, path)
        if isinstance(value, str) and value.strip():
            return value.strip()[:NAME_MAX_CHARS]
    return None
