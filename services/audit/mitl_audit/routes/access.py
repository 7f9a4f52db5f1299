"""GET /v1/access: the access rows of the chain (exports, client-key changes, user and role
changes), newest first, for an auditor or admin.

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.service import ServiceRuntime

from mitl_audit.core.access_view import AccessLog
from mitl_audit.routes.readers import readers_router
from mitl_audit.store import access

MAX_ROWS = 1000
# What an action or a subject may be (a name of the contracts, or `user`-like prefixes).
TEXT = r"^[A-Za-z0-9_.:\-/@]+$"


def build_access_router(runtime: ServiceRuntime, authenticator: Authenticator) -> APIRouter:
    router = readers_router(authenticator, "access", "reading the access log")

    @router.get("/access", response_model=AccessLog)
    async def get_access(
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
        before_seq: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
        action: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT)] = None,
        subject: Annotated[str | None, Query(min_length=1, max_length=300, pattern=TEXT)] = None,
    ) -> AccessLog:
        """Who did what to whose access: each export (actor: the caller, subject: the
        dataset), each ingest client-key change and each review user or role change (actor:
        user:<id> of an admin, cli:<os user>, oidc:<issuer>), as chained (`seq`, `row_hash`:
        `mitl audit verify` checks them). `action`: one (`user.disable`) or a family
        (`client`); `subject`: a client or user id, or a dataset; `before_seq`: the page
        after a row. Never a secret."""
        rows = await access.rows(runtime.pool, limit, before_seq, action, subject)
        return AccessLog(rows=rows)

    return router
