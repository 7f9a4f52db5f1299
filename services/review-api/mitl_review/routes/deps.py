"""Dependencies shared by the routes: the app's context and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mitl_review.context import Context
from mitl_review.core.auth import User, active_user, hash_token
from mitl_review.core.errors import Unauthenticated
from mitl_review.store import users

bearer = HTTPBearer(
    auto_error=False, description="A user's token, from `mitl users create` or POST /v1/users."
)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a needless hop per request.
    return request.app.state.review


ContextDep = Annotated[Context, Depends(context)]


async def current_user(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The caller, from `Authorization: Bearer <token>`; 401 without a known token."""
    if credentials is None:
        raise HTTPException(
            401,
            "missing credentials: send the header 'Authorization: Bearer <token>'",
            headers=UNAUTHORIZED_HEADERS,
        )
    digest = hash_token(credentials.credentials)
    user = ctx.tokens.get(digest)
    if user is None:
        generation = ctx.tokens.generation
        found = await users.by_token_sha256(ctx.pool, digest)
        if found is None:
            raise HTTPException(401, "unknown or revoked token", headers=UNAUTHORIZED_HEADERS)
        account, now = found
        try:
            user = active_user(account, now)
        except Unauthenticated as error:
            raise HTTPException(401, error.message, headers=UNAUTHORIZED_HEADERS) from None
        expires = account.token_expires_at
        ctx.tokens.put(
            digest,
            user,
            generation,
            None if expires is None else (expires - now).total_seconds(),
        )
    return user


UserDep = Annotated[User, Depends(current_user)]
