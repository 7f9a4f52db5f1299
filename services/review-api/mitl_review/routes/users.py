"""Users: the caller's own view, and the user lifecycle (admins): create, list, disable and
enable, rotate a token, assign and unassign datasets. The same operations as `mitl users`;
each change is recorded in audit's chain with the admin as who made it (store.users)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Path
from mitl_contracts.events import NAME_CHARACTERS, NAME_MAX_LENGTH
from mitl_runtime.auth import actor

from mitl_review.context import Context
from mitl_review.core.auth import User, account_status, check_admin
from mitl_review.core.errors import Unprocessable
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import (
    DatasetChange,
    Me,
    TokenRotate,
    TokenRotated,
    UserCreate,
    UserCreated,
    Users,
    UserView,
)
from mitl_review.store import stats, users
from mitl_review.store.users import Listed

router = APIRouter(prefix="/v1", tags=["users"])
UserId = Annotated[
    str, Path(min_length=1, max_length=NAME_MAX_LENGTH, pattern=rf"^[{NAME_CHARACTERS}]+$")
]


def view(listed: Listed) -> UserView:
    account = listed.account
    user = account.user
    return UserView(
        id=user.id,
        display_name=user.name,
        role=user.role,
        status=account_status(account, listed.now),
        sso=listed.sso_issuer is not None,
        token_expires_at=account.token_expires_at,
        datasets=None if user.datasets is None else sorted(user.datasets),
        created_at=listed.created_at,
    )


def known(ctx: Context, datasets: list[str]) -> frozenset[str]:
    unknown = sorted(set(datasets) - set(ctx.catalog.datasets))
    if unknown:
        raise Unprocessable(f"unknown dataset(s): {', '.join(unknown)}")
    return frozenset(datasets)


async def changed(ctx: Context, user_id: str) -> UserView:
    """The user as they are now, the change's access event on its way to audit."""
    ctx.relay.wake()
    return view(await users.by_id(ctx.pool, user_id))


@router.post("/users", response_model=UserCreated, status_code=201)
async def create_user(body: UserCreate, ctx: ContextDep, caller: UserDep) -> UserCreated:
    """Create a user (admins only). The token is in this answer and nowhere else. `datasets`
    (each in the catalog, else 422): the only ones the user may work on; none given: every
    dataset. `expires_in_days`: when the token stops working."""
    check_admin(caller)
    datasets = None if body.datasets is None else known(ctx, body.datasets)
    expires = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
    token = await users.create(
        ctx.pool,
        body.name,
        body.role,
        display_name=body.display_name,
        expires_in=expires,
        datasets=datasets,
        actor=actor.person(caller.id),
    )
    ctx.relay.wake()
    created = await users.by_id(ctx.pool, body.name)
    return UserCreated(
        name=body.name,
        role=body.role,
        token=token,
        token_expires_at=created.account.token_expires_at,
    )


@router.get("/users", response_model=Users)
async def list_users(ctx: ContextDep, caller: UserDep) -> Users:
    """Every user (admins only): stable id, display name, role, status (active, disabled,
    expired), whether they sign in through SSO, token expiry and datasets. Never a token."""
    check_admin(caller)
    return Users(users=[view(listed) for listed in await users.listed(ctx.pool)])


def _admin(caller: User) -> str:
    check_admin(caller)
    return actor.person(caller.id)


@router.post("/users/{user_id}/disable", response_model=UserView)
async def disable_user(user_id: UserId, ctx: ContextDep, caller: UserDep) -> UserView:
    """Refuse the user from now on (their token or sign-in); what they submitted stays."""
    await users.set_disabled(ctx.pool, user_id, True, actor=_admin(caller))
    return await changed(ctx, user_id)


@router.post("/users/{user_id}/enable", response_model=UserView)
async def enable_user(user_id: UserId, ctx: ContextDep, caller: UserDep) -> UserView:
    """Accept the user again."""
    await users.set_disabled(ctx.pool, user_id, False, actor=_admin(caller))
    return await changed(ctx, user_id)


@router.post("/users/{user_id}/rotate-token", response_model=TokenRotated)
async def rotate_token(
    user_id: UserId,
    ctx: ContextDep,
    caller: UserDep,
    body: Annotated[TokenRotate | None, Body()] = None,
) -> TokenRotated:
    """A new token for the user, in this answer and nowhere else; the old one stops working
    at once. 409 for a person who signs in through SSO (they hold no token)."""
    by = _admin(caller)
    days = body.expires_in_days if body is not None else None
    token, expires_at = await users.rotate_token(
        ctx.pool, user_id, None if days is None else timedelta(days=days), actor=by
    )
    ctx.relay.wake()
    return TokenRotated(id=user_id, token=token, token_expires_at=expires_at)


@router.post("/users/{user_id}/assign", response_model=UserView)
async def assign(
    user_id: UserId, body: DatasetChange, ctx: ContextDep, caller: UserDep
) -> UserView:
    """Let the user see and claim these datasets (each in the catalog, else 422); from the
    first assignment on, only assigned ones."""
    by = _admin(caller)
    await users.assign(ctx.pool, user_id, known(ctx, body.datasets), actor=by)
    return await changed(ctx, user_id)


@router.post("/users/{user_id}/unassign", response_model=UserView)
async def unassign(
    user_id: UserId, body: DatasetChange, ctx: ContextDep, caller: UserDep
) -> UserView:
    """Take these datasets away (a dataset since removed from the catalog too). 409 for a
    user never assigned one (they work on every dataset: assign those they should keep)."""
    by = _admin(caller)
    await users.unassign(ctx.pool, user_id, frozenset(body.datasets), actor=by)
    return await changed(ctx, user_id)


@router.get("/me", response_model=Me)
async def me(ctx: ContextDep, user: UserDep) -> Me:
    """Who the token belongs to, and their progress."""
    return Me(
        id=user.id,
        name=user.name,
        role=user.role,
        datasets=None if user.datasets is None else sorted(user.datasets),
        **await stats.progress(ctx.pool, user.id),
    )
