"""GET /v1/items/{dataset}/{item_id}/image: an image item's bytes, the reference an export
row carries instead of a copy (core/export.py).

No `from __future__ import annotations` here: FastAPI evaluates the endpoint annotations.
"""

import base64
import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from fastapi.responses import Response
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import image_format
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.auth.guard import requires
from mitl_runtime.service import ServiceRuntime

from mitl_audit.routes.reports import DatasetPath, known
from mitl_audit.store import items

ItemPath = Annotated[str, Path(min_length=1, max_length=200)]
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}


def add_image_route(
    router: APIRouter, runtime: ServiceRuntime, catalog: Catalog, authenticator: Authenticator
) -> None:
    """Add GET /items/{dataset}/{item_id}/image to the export router: the image is an item's
    content, as sensitive as its text in an export, so it needs the same permission."""
    reader = requires(authenticator, "export:read", "reading an item's image")

    @router.get(
        "/items/{dataset}/{item_id}/image",
        response_class=Response,
        dependencies=[Depends(reader)],
        responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
    )
    async def get_image(dataset: DatasetPath, item_id: ItemPath) -> Response:
        """The PNG or JPEG bytes of an image item as ingest accepted them, with its sha256 as
        the ETag. 404 for an unknown dataset, an item audit has not seen, or an item that is
        not an image. Needs the auditor or admin role, like the export."""
        await known(runtime, catalog, dataset)
        stored = await items.content_of(runtime.pool, dataset, item_id)
        if stored is None:
            raise HTTPException(404, f"no item {item_id!r} in dataset {dataset!r}")
        encoded = json.loads(stored).get("image")
        if not encoded:
            raise HTTPException(404, f"item {item_id!r} of dataset {dataset!r} is not an image")
        data = base64.b64decode(encoded)
        media = MEDIA_TYPES[image_format(data) or "png"]
        digest = hashlib.sha256(data).hexdigest()
        return Response(
            data,
            media_type=media,
            headers={"ETag": f'"{digest}"', "Cache-Control": "private, max-age=86400, immutable"},
        )
