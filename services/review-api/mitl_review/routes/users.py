"""Users: the caller's own view, and creating users (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from mitl_review.core.auth import check_admin
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import Me, UserCreate, UserCreated
from mitl_review.store import stats, users

router = APIRouter(prefix="/v1", tags=["users"])


@router.post("/users", response_model=UserCreated, status_code=201)
async def create_user(body: UserCreate, ctx: ContextDep, caller: UserDep) -> UserCreated:
    """Create a user (admins only). The token is in this answer and nowhere else."""
    check_admin(caller)
    token = await users.create(ctx.pool, body.name, body.role)
    return UserCreated(name=body.name, role=body.role, token=token)


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
