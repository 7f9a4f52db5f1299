"""Ingest over HTTP: POST /v1/items, into the same Ingestor as the raw topic."""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Depends, HTTPException, Request
from mitl_contracts.api import IngestRequest, IngestResponse, ItemOutcome
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import ItemRaw
from mitl_runtime.auth.authenticator import bearer
from mitl_runtime.auth.errors import AuthError, Unauthenticated
from mitl_runtime.auth.guard import BearerDep, http_error
from mitl_runtime.http_errors import encodable
from pydantic import ValidationError

from mitl_ingest import client_store, core
from mitl_ingest.clients import UNKNOWN, Client, RateLimiter, check_shape
from mitl_ingest.handlers import Ingestor
from mitl_ingest.metrics import REFUSED
from mitl_ingest.settings import Settings

log = logging.getLogger(__name__)


def refused(error: AuthError) -> HTTPException:
    """The answer to a refused request, counted and logged with its reason (never the key)."""
    REFUSED.labels(str(error.status)).inc()
    log.info("refused a request (%d): %s", error.status, error.message)
    return http_error(error)


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in error.errors()
    )


def build_router(catalog: Catalog, ingestor: Ingestor, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["items"])
    limiter = RateLimiter()

    async def client_of(http: Request, _: BearerDep) -> Client | None:
        """The client whose key came with the request (None with ingest_auth off): 401 without
        a valid key, 429 over its rate limit, 413 over its body limit."""
        if settings.ingest_auth == "off":
            return None
        try:
            key = bearer(http.headers.get("authorization"))
            check_shape(key)
            client = await client_store.by_key(ingestor.runtime.pool, key)
            if client is None or client.revoked:
                raise Unauthenticated(UNKNOWN)
            limiter.take(client)
            client.check_body(len(await http.body()))
        except AuthError as error:
            raise refused(error) from None
        return client

    @router.post(
        "/items",
        response_model=IngestResponse,
        responses={
            401: {"description": "no client key, or one that is malformed, unknown or revoked"},
            403: {"description": "the dataset is outside the key's scope"},
            413: {"description": "over the client's body limit, or too many items"},
            429: {"description": "over the client's rate limit (Retry-After says when)"},
        },
    )
    # A default, not Annotated: the annotation is a string (__future__) that FastAPI
    # resolves in the module's globals, where the local client_of is not.
    async def post_items(
        request: IngestRequest,
        client: Client | None = Depends(client_of),  # noqa: B008
    ) -> IngestResponse:
        """Ingest a batch of items for one dataset; the answer says, per item, whether it was
        accepted, a duplicate of one already ingested, or rejected and why."""
        if client is not None:
            try:
                client.check_dataset(request.dataset)
            except AuthError as error:
                raise refused(error) from None
        try:
            catalog.get(request.dataset)
        except UnknownDataset as error:
            raise HTTPException(404, str(error)) from None
        if len(request.items) > settings.max_items_per_request:
            raise HTTPException(
                413,
                f"{len(request.items)} items; at most {settings.max_items_per_request} a request",
            )
        if request.batch_id is not None and core.NUL in request.batch_id:
            raise HTTPException(422, "batch_id: contains a NUL character (U+0000), not allowed")
        batch_id = request.batch_id or f"http-{uuid.uuid4().hex[:16]}"
        parsed: list[ItemRaw] = []
        positions: list[int] = []
        items: list[ItemOutcome | None] = []
        for index, raw in enumerate(request.items):
            try:
                parsed.append(
                    ItemRaw.model_validate(
                        {**raw, "dataset": request.dataset, "batch_id": batch_id}
                    )
                )
                positions.append(index)
                items.append(None)
            except ValidationError as error:
                # Echoed as sent, except what UTF-8 cannot encode (a lone surrogate).
                external_id = encodable(raw.get("external_id"))
                items.append(
                    ItemOutcome(
                        index=index,
                        external_id=external_id if isinstance(external_id, str) else None,
                        status="rejected",
                        reason=describe(error),
                    )
                )
        for index, outcome in zip(
            positions,
            await ingestor.ingest(parsed, batch_id, client.client_id if client else None),
            strict=True,
        ):
            items[index] = ItemOutcome(index=index, **outcome.__dict__)
        done = [i for i in items if i is not None]
        return IngestResponse(
            dataset=request.dataset,
            batch_id=batch_id,
            accepted=sum(i.status == "accepted" for i in done),
            duplicates=sum(i.status == "duplicate" for i in done),
            rejected=sum(i.status == "rejected" for i in done),
            items=done,
        )

    return router
