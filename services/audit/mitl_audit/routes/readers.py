"""The audit's read-only routers: every route on one needs the permission `reports:read` (the
role auditor or admin; 401 without credentials, 403 without the role)."""

from fastapi import APIRouter, Depends
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.auth.guard import requires


def readers_router(authenticator: Authenticator, tag: str, doing: str) -> APIRouter:
    """A /v1 router tagged `tag` whose routes need `reports:read`; `doing` names the act in a
    refusal ("reading reports")."""
    guard = Depends(requires(authenticator, "reports:read", doing))
    return APIRouter(prefix="/v1", tags=[tag], dependencies=[guard])
