"""The FastAPI side: a dependency that lets a request through only for a caller with a
permission, and the HTTP answer for each refusal (401 with a Bearer challenge, 403, 413, 429
with Retry-After, 503), the reason in `detail`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.auth.errors import AuthError, RateLimited, Unauthenticated
from mitl_runtime.auth.principal import Principal
from mitl_runtime.auth.roles import Permission

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mitl"'}
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A static token (MITL_ADMIN_TOKEN, MITL_AUDITOR_TOKEN), an OIDC JWT, or for "
    "ingest a client key from `mitl clients create`.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def http_error(error: AuthError) -> HTTPException:
    headers: dict[str, str] | None = None
    if isinstance(error, Unauthenticated):
        headers = CHALLENGE
    elif isinstance(error, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(error.retry_after_s)))}
    return HTTPException(error.status, error.message, headers)


def requires(
    authenticator: Authenticator, permission: Permission, what: str
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Principal]:
    """A dependency (`Depends(requires(...))`) giving the caller, or refusing the request.
    A plain function: FastAPI runs it in its thread pool, where fetching a JWKS may block."""

    def dependency(request: Request, _: BearerDep) -> Principal:
        try:
            principal = authenticator.authorize(
                request.headers.get("authorization"), permission, what
            )
        except AuthError as error:
            raise http_error(error) from None
        request.state.principal = principal
        return principal

    return dependency
