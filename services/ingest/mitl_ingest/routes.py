"""Ingest over HTTP: POST /v1/items, into the same Ingestor as the raw topic."""

from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from mitl_contracts.api import IngestRequest, IngestResponse, ItemOutcome
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_contracts.events import ItemRaw, image_format
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

# What a route guarded by a client key may refuse with (its OpenAPI responses).
KEY_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no client key, or one that is malformed, unknown or revoked"},
    403: {"description": "the dataset is outside the key's scope"},
    429: {"description": "over the client's rate limit (Retry-After says when)"},
}


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
        responses=KEY_REFUSALS
        | {413: {"description": "over the client's body limit, or too many items"}},
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

    @router.post(
        "/items/{dataset}/image",
        response_model=ItemOutcome,
        responses=KEY_REFUSALS,
    )
    async def post_image(
        dataset: str,
        request: Request,
        external_id: str = Query(min_length=1, max_length=200),
        client: Client | None = Depends(client_of),  # noqa: B008
    ) -> ItemOutcome:
        """Ingest one image item from the request body (the PNG or JPEG bytes themselves,
        `Content-Type: image/png` or `image/jpeg`). A bad image is answered 4xx naming the
        fault: 413 over the dataset's byte limit, 415 neither PNG nor JPEG, 422 an image
        that does not decode, is too large in pixels or does not fit the dataset. Takes a
        client key like POST /v1/items."""
        if client is not None:
            try:
                client.check_dataset(dataset)
            except AuthError as error:
                raise refused(error) from None
        try:
            target = catalog.get(dataset)
        except UnknownDataset as error:
            raise HTTPException(404, str(error)) from None
        if target.input_kind != "image":
            raise HTTPException(
                422, f"dataset {dataset!r} takes {target.input_kind} items, not image"
            )
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in ("image/png", "image/jpeg"):
            raise HTTPException(
                415, f"Content-Type {media or 'none'!r}: send image/png or image/jpeg"
            )
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > target.max_image_bytes:
                raise HTTPException(
                    413,
                    f"image is over {target.max_image_bytes} bytes, the limit of dataset "
                    f"{dataset!r} (max_image_bytes)",
                )
        data = bytes(body)
        if not data:
            raise HTTPException(422, "image: the request body is empty")
        if image_format(data) is None:
            raise HTTPException(415, "image: the body is neither PNG nor JPEG (by its first bytes)")
        if core.NUL in external_id:
            raise HTTPException(422, "external_id: contains a NUL character (U+0000), not allowed")
        batch_id = f"http-{uuid.uuid4().hex[:16]}"
        raw = ItemRaw(
            dataset=dataset,
            external_id=external_id,
            image=base64.b64encode(data).decode("ascii"),
            batch_id=batch_id,
        )
        client_id = client.client_id if client else None
        (outcome,) = await ingestor.ingest([raw], batch_id, client_id)
        if outcome.status == "rejected":
            raise HTTPException(422, outcome.reason or "rejected")
        return ItemOutcome(index=0, **outcome.__dict__)

    return router
