"""Users: the caller's own view, and creating users (admins)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from mitl_review.core.auth import check_admin
from mitl_review.core.errors import Unprocessable
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import Me, UserCreate, UserCreated
from mitl_review.store import stats, users

router = APIRouter(prefix="/v1", tags=["users"])


@router.post("/users", response_model=UserCreated, status_code=201)
async def create_user(body: UserCreate, ctx: ContextDep, caller: UserDep) -> UserCreated:
    """Create a user (admins only). The token is in this answer and nowhere else. `datasets`
    (each in the catalog, else 422): the only ones the user may work on; none given: every
    dataset. `expires_in_days`: when the token stops working."""
    check_admin(caller)
    datasets = None
    if body.datasets is not None:
        unknown = sorted(set(body.datasets) - set(ctx.catalog.datasets))
        if unknown:
            raise Unprocessable(f"unknown dataset(s): {', '.join(unknown)}")
        datasets = frozenset(body.datasets)
    expires = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
    token = await users.create(
        ctx.pool,
        body.name,
        body.role,
        display_name=body.display_name,
        expires_in=expires,
        datasets=datasets,
    )
    expires_at = None
    if expires is not None:
        found = await users.by_token(ctx.pool, token)
        expires_at = found[0].token_expires_at if found else None
    return UserCreated(name=body.name, role=body.role, token=token, token_expires_at=expires_at)


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
