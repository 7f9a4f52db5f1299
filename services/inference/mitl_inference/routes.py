"""Inference over HTTP: the models this replica serves, the registry's versions, and, for the
operator (the role admin: MITL_ADMIN_TOKEN or an OIDC JWT, mitl_runtime.auth), registering a
bundle, promoting and retiring versions: the same operations as `mitl models`, for clients
that reach only the HTTP API."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from mitl_contracts.datasets import Catalog
from mitl_ml.artifacts import ArtifactStore
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import read_manifest
from mitl_runtime.auth.guard import requires
from mitl_runtime.service import ServiceRuntime

from mitl_inference import registration
from mitl_inference.models import ModelSet
from mitl_inference.settings import Settings
from mitl_inference.store import registry, status_changes
from mitl_inference.uploads import BadUpload, unpack

BUNDLE_TYPES = (
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/octet-stream",
)


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it is longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the bundle is {declared} bytes, over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the bundle is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def build_router(
    runtime: ServiceRuntime, models: ModelSet, settings: Settings, catalog: Catalog
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["models"])
    admin = Depends(requires(settings.authenticator(), "models:manage", "model registration"))
    store = ArtifactStore(settings.artifact_dir)

    @router.get("/models")
    async def served() -> dict[str, object]:
        """The model version serving each dataset on this replica, with its manifest."""
        return {name: m.manifest.model_dump(mode="json") for name, m in models.by_dataset.items()}

    @router.get("/registry")
    async def versions(dataset: str | None = None) -> list[dict[str, object]]:
        """Every registered version (of `dataset`, if given) with its status and metrics."""
        return [r.summary() for r in await registry.listing(runtime.pool, dataset)]

    @router.post(
        "/registry",
        status_code=201,
        dependencies=[admin],
        responses={
            200: {"description": "this exact artifact was registered before"},
            401: {"description": "no credentials, or ones that are not valid"},
            403: {"description": "without the role admin, or off (no MITL_ADMIN_TOKEN nor OIDC)"},
            409: {"description": "the version is taken by another artifact"},
            413: {"description": "the bundle is over max_bundle_bytes"},
            415: {"description": "the body is not a tar archive"},
            422: {"description": "the bundle cannot be served; the reason is named"},
        },
    )
    async def register_bundle(request: Request, response: Response) -> dict[str, object]:
        """Register a model bundle sent as the body (a .tar.gz of its directory) as a
        candidate, validated exactly as `mitl models register` does."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in BUNDLE_TYPES:
            raise HTTPException(
                415,
                "send the bundle as a .tar.gz archive (Content-Type application/gzip), "
                f"not {kind or 'no type'}",
            )
        data = await read_limited(request, settings.max_bundle_bytes)
        with tempfile.TemporaryDirectory(prefix="mitl-upload-") as tmp:
            try:
                bundle = await asyncio.to_thread(unpack, data, Path(tmp))
                known = await registered_before(bundle)
                record = await registration.register(
                    runtime.pool,
                    store,
                    catalog,
                    bundle,
                    encoders=models.encoders,
                    intra_op_threads=settings.intra_op_threads,
                )
            except BadUpload as error:
                raise HTTPException(422, str(error)) from None
            except registration.RegistrationError as error:
                # The temporary directory's name means nothing to the caller.
                raise HTTPException(422, str(error).replace(tmp, "the bundle")) from None
            except registry.RegistryError as error:
                raise HTTPException(409, str(error)) from None
        if known is not None and known.artifact_sha256 == record.artifact_sha256:
            response.status_code = 200
        return record.summary()

    async def registered_before(bundle: Path) -> registry.ModelRecord | None:
        """The record of the bundle's version if it is registered already; None if not, or if
        its manifest does not read (registration then refuses it with the reason)."""
        try:
            manifest = await asyncio.to_thread(read_manifest, bundle)
        except ModelLoadError:
            return None
        return await registry.get(runtime.pool, manifest.dataset, manifest.version)

    changes = {
        "promote": (status_changes.promote, "champion"),
        "retire": (status_changes.retire, "retired"),
    }

    @router.post(
        "/registry/{dataset}/{version}/{action}",
        dependencies=[admin],
        responses={
            404: {"description": "no such version"},
            409: {"description": "refused (e.g. retiring the champion)"},
        },
    )
    async def change_status(
        dataset: str, version: str, action: Literal["promote", "retire"]
    ) -> dict[str, object]:
        """`promote`: make a version its dataset's champion (the previous one is retired) and
        announce it on the models topic, so that every inference replica swaps to it.
        `retire`: retire a version that is not its dataset's champion."""
        change, status = changes[action]
        try:
            event = await change(runtime.pool, dataset, version)
        except registry.RegistryError as error:
            code = 404 if isinstance(error, registry.UnknownVersion) else 409
            raise HTTPException(code, str(error)) from None
        await status_changes.publish_pending(runtime.pool, runtime.publisher)
        return {
            "dataset": dataset,
            "version": version,
            "status": status,
            "changed": event is not None,
        }

    return router
