"""Dependencies shared by the routes: the app's context and the authenticated user.

A caller is a review user holding one of our tokens (`mitl users create`, POST /v1/users), or,
with the oidc_* settings, a person presenting an OIDC JWT: the runtime's authenticator checks
it (signature, issuer, audience, expiry; a refusal does not say which part failed), and the
person is the review user of their (issuer, subject), created on first use (core.sso). Either
way a disabled user is refused, and the user is cached by the credential's sha256 (never past
its expiry; cleared when a user changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from mitl_runtime.auth.authenticator import looks_like_jwt
from mitl_runtime.auth.errors import MISSING, AuthError
from mitl_runtime.auth.guard import http_error
from mitl_runtime.auth.principal import Principal

from mitl_review.context import Context
from mitl_review.core import sso
from mitl_review.core.auth import Account, User, active_user, hash_token
from mitl_review.core.errors import Unauthenticated
from mitl_review.store import users

bearer = HTTPBearer(
    auto_error=False,
    description="A user's token, from `mitl users create` or POST /v1/users; or, with single "
    "sign-on configured, an OIDC JWT.",
)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}
# Says where a token comes from: the platform's static MITL_ADMIN_TOKEN (audit, trainer,
# inference) is the token operators reach for first, and it is not a review user's.
UNKNOWN_TOKEN = (
    "unknown or revoked token; the review API takes its users' tokens (`mitl users create`, "
    "an admin too: --role admin), not MITL_ADMIN_TOKEN"
)


async def context(request: Request) -> Context:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a needless hop per request.
    return request.app.state.review


ContextDep = Annotated[Context, Depends(context)]


async def jwt_account(ctx: Context, token: str) -> tuple[Account, datetime, Principal]:
    """The account of the person whose JWT this is (created on first use); 401 for a JWT
    refused, 503 when the issuer's keys cannot be fetched, 403 for no review role."""
    try:
        # In the thread pool: fetching a JWKS from its URL blocks.
        principal = await run_in_threadpool(ctx.authenticator.authenticate, token)
    except AuthError as error:
        raise http_error(error) from None
    if principal.issuer is None:  # not a JWT person (the authenticator has no static tokens)
        raise HTTPException(401, "unknown or revoked token", headers=UNAUTHORIZED_HEADERS)
    role = sso.review_role(principal.roles)
    account, now = await users.sso_user(
        ctx.pool,
        principal.issuer,
        principal.subject,
        sso.user_id(principal.issuer, principal.subject),
        principal.display_name,
        role,
    )
    return account, now, principal


async def current_user(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The caller, from `Authorization: Bearer <token or JWT>`; 401 without a good one."""
    if credentials is None:
        raise HTTPException(401, MISSING, headers=UNAUTHORIZED_HEADERS)
    token = credentials.credentials
    digest = hash_token(token)
    user = ctx.tokens.get(digest)
    if user is not None:
        return user
    generation = ctx.tokens.generation
    expires: datetime | None
    if ctx.authenticator.oidc is not None and looks_like_jwt(token):
        account, now, principal = await jwt_account(ctx, token)
        expires = principal.expires_at
    else:
        found = await users.by_token_sha256(ctx.pool, digest)
        if found is None:
            raise HTTPException(401, UNKNOWN_TOKEN, headers=UNAUTHORIZED_HEADERS)
        account, now = found
        expires = account.token_expires_at
    try:
        user = active_user(account, now)
    except Unauthenticated as error:
        raise HTTPException(401, error.message, headers=UNAUTHORIZED_HEADERS) from None
    ctx.tokens.put(
        digest, user, generation, None if expires is None else (expires - now).total_seconds()
    )
    return user


UserDep = Annotated[User, Depends(current_user)]
