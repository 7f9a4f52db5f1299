"""People who sign in through single sign-on (an OIDC JWT, checked by the runtime's
authenticator): which review user they are, and with which role. Pure.

The user id is derived from the identity provider's issuer and the JWT's `sub` together (a
subject is unique only within its issuer), hashed so that it is a name whatever characters
the provider uses: the same person is the same user on every sign-in, and tasks, labels and
quality history record that id. The display name comes from the configured claim."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from mitl_review.core.auth import Role
from mitl_review.core.errors import Forbidden

ID_PREFIX = "sso:"
ID_HEX_CHARS = 24  # 96 bits of sha256: no two people of one deployment collide
# The review role a JWT's roles give, the first held in this order.
PRECEDENCE: tuple[Role, ...] = ("admin", "expert", "annotator")


def user_id(issuer: str, subject: str) -> str:
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode("utf-8", "surrogatepass")).hexdigest()
    return ID_PREFIX + digest[:ID_HEX_CHARS]


def review_role(roles: Iterable[str]) -> Role:
    """The review role of a person holding `roles` (admin over expert over annotator);
    Forbidden for a person with none of them (an auditor signs in to audit, not here)."""
    held = set(roles)
    for role in PRECEDENCE:
        if role in held:
            return role
    have = ", ".join(sorted(held)) or "no role"
    raise Forbidden(
        "your sign-in grants no review role (annotator, expert or admin); it has " + have
    )
