"""The operator's credential for a service's administrative HTTP routes (e.g. registering and
promoting models over HTTP): one bearer token per deployment, MITL_ADMIN_TOKEN, compared in
constant time. Unset, those routes are off (403 saying how to turn them on); without the token
401, with another one 401, each with a reason that does not say which part was wrong."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from fastapi import Header, HTTPException
from pydantic import SecretStr

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mitl-admin"'}


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def admin_guard(token: SecretStr | None, what: str) -> Callable[[str | None], None]:
    """A FastAPI dependency that lets a request through only with `Authorization: Bearer
    <token>`; `what` names the routes in the answer when they are off."""
    expected = _digest(token.get_secret_value()) if token is not None else None

    def guard(authorization: str | None = Header(default=None)) -> None:
        if expected is None:
            raise HTTPException(
                403, f"{what} over HTTP is off: set MITL_ADMIN_TOKEN on this service to allow it"
            )
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise HTTPException(
                401, "an admin token is needed (Authorization: Bearer <token>)", CHALLENGE
            )
        if not hmac.compare_digest(_digest(presented.strip()), expected):
            raise HTTPException(401, "the admin token is not valid", CHALLENGE)

    return guard
