"""Registering a model version: validate the bundle, store it by digest, record it.

Validation is the same as serving: mitl_ml.load_model checks the manifest, every file's
sha256, that onnxruntime loads the ONNX and that its inputs and outputs match the manifest;
then the model must fit its dataset in the catalog (compatibility.check_fits).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TypedDict, Unpack

import asyncpg
from mitl_contracts.datasets import Catalog, UnknownDataset
from mitl_ml.artifacts import ArtifactStore, bundle_path, manifest_digest
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import ModelManifest
from mitl_ml.runtime import EncoderPool, load_model

from mitl_inference.compatibility import IncompatibleModel, check_fits
from mitl_inference.store import registry


class RegistrationError(Exception):
    """The bundle cannot be registered; the message names the bundle and the problem."""


def validate(
    bundle_dir: Path,
    catalog: Catalog,
    *,
    encoders: EncoderPool | None = None,
    intra_op_threads: int = 1,
) -> ModelManifest:
    """The bundle's manifest once it loads and fits its dataset; RegistrationError if not.
    `encoders` shares MiniLM encoder sessions (by sha256) with the serving models. A MiniLM
    bundle whose encoder is not the one its head was trained on, or whose quantized encoder
    graph does not load or run, is refused with the mismatch named (mitl_ml.runtime)."""
    try:
        model = load_model(Path(bundle_dir), intra_op_threads, encoder=encoders)
        check_fits(model.manifest, catalog.get(model.manifest.dataset))
    except (ModelLoadError, IncompatibleModel, UnknownDataset) as error:
        raise RegistrationError(f"{bundle_dir}: {error}") from None
    return model.manifest


async def register(
    pool: asyncpg.Pool,
    store: ArtifactStore,
    catalog: Catalog,
    bundle_dir: Path,
    *,
    expected_sha256: str = "",
    encoders: EncoderPool | None = None,
    intra_op_threads: int = 1,
) -> registry.ModelRecord:
    """Validate and store the bundle at `bundle_dir` and record it as a candidate (or return
    the existing record of the same artifact). Raises RegistrationError for a bundle that
    cannot be served, and registry.RegistryError for a version taken by another artifact."""
    try:
        digest = manifest_digest(bundle_dir)
    except ModelLoadError as error:
        raise RegistrationError(str(error)) from None
    if expected_sha256 and digest != expected_sha256:
        raise RegistrationError(
            f"{bundle_dir}: manifest sha256 is {digest[:12]}…, the event says "
            f"{expected_sha256[:12]}…"
        )
    manifest = await asyncio.to_thread(
        validate, bundle_dir, catalog, encoders=encoders, intra_op_threads=intra_op_threads
    )
    try:
        stored = await asyncio.to_thread(store.put, bundle_dir)
    except ModelLoadError as error:
        raise RegistrationError(f"{bundle_dir}: {error}") from None
    # The digest pins the manifest and, through it, every file: what was stored is exactly
    # what was validated unless the bundle changed in between.
    if stored != digest:
        raise RegistrationError(f"{bundle_dir}: the bundle changed while it was registered")
    return await registry.insert(pool, manifest, digest, store.uri(digest))


class Options(TypedDict, total=False):
    """`register`'s keyword options, which `register_uri` passes on."""

    expected_sha256: str
    encoders: EncoderPool | None
    intra_op_threads: int


async def register_uri(
    pool: asyncpg.Pool,
    store: ArtifactStore,
    catalog: Catalog,
    uri: str,
    **options: Unpack[Options],
) -> registry.ModelRecord:
    """`register` for a bundle named by a file:// URI, as a ModelPromoted event carries it."""
    try:
        path = bundle_path(uri)
    except ModelLoadError as error:
        raise RegistrationError(str(error)) from None
    return await register(pool, store, catalog, path, **options)
