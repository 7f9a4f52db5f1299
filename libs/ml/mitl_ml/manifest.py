"""Model bundle manifest: what a bundle directory contains and how to verify it.

A bundle is a directory holding `manifest.json` plus the files it names. The manifest is the
only thing a server reads to decide how to run the model; every file it names carries a
sha256 digest so a half-copied or swapped file is caught at load time, not at predict time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mitl_ml.errors import ModelLoadError

MANIFEST_FILE = "manifest.json"
ModelKind = Literal[
    "minilm-logreg",
    "minilm-int8-logreg",
    "tfidf-logreg",
    "vector-onnx",
    "hybrid-logreg",
    "pixels-logreg",
    "vector-ovr-onnx",
    "hybrid-ovr-onnx",
    "spacy-ner",
    "minilm-tagger",
]
InputKind = Literal["text", "vector", "image"]
Pooling = Literal["mean", "leading"]
# The encoder outputs a head may read, in order (ModelManifest.pooling).
POOLINGS: tuple[tuple[Pooling, ...], ...] = (("mean",), ("mean", "leading"))
# Largest square an image model resizes its images to (pixels each way).
MAX_IMAGE_SIZE = 256
# Kinds whose head outputs one independent probability per label (multi-label): on vectors
# (mitl_ml.ovr), on MiniLM + TF-IDF text features (mitl_ml.text_ovr).
MULTILABEL_KINDS = frozenset({"vector-ovr-onnx", "hybrid-ovr-onnx"})
# Kinds that find entity spans in a text (span datasets): spaCy's pretrained pipeline as a
# pre-labeler, and the project's own token tagger on the MiniLM encoder's token outputs.
SPAN_KINDS = frozenset({"spacy-ner", "minilm-tagger"})
# Kinds that embed text with MiniLM: the shipped encoder (fp32 at run time), or the true int8
# one built by mitl_ml.quantize, which the bundle carries (file role "encoder").
MINILM_KINDS = frozenset({"minilm-logreg", "minilm-int8-logreg"})
# Kinds that read MiniLM embeddings beside TF-IDF word and char n-grams (features.onnx): on the
# shipped encoder, or on a built int8 one the bundle carries (file role "encoder").
HYBRID_KINDS = frozenset({"hybrid-logreg", "hybrid-ovr-onnx"})
_KIND_INPUT: dict[str, str] = {
    "minilm-logreg": "text",
    "minilm-int8-logreg": "text",
    "tfidf-logreg": "text",
    "vector-onnx": "vector",
    "hybrid-logreg": "text",
    "pixels-logreg": "image",
    "vector-ovr-onnx": "vector",
    "hybrid-ovr-onnx": "text",
    "spacy-ner": "text",
    "minilm-tagger": "text",
}


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


class EncoderInfo(BaseModel):
    """The sentence encoder a MiniLM model runs: its id, the sha256 of its ONNX graph, and for
    a built int8 encoder how it was quantized (mitl_ml.quantize.Quantization: recipe,
    onnxruntime version, sha256 of the source model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    quantization: dict[str, Any] = Field(default_factory=dict)


class ModelManifest(BaseModel):
    """Description of one trained model version.

    Contracts (enforced by validation): `labels` are distinct and their order is the column
    order of every probability output; `files` maps a role ("head", "pipeline", "centroids")
    to a plain file name inside the bundle; `input_kind` matches `kind`; `vector_dim` is set
    exactly for vector models, `image_size` exactly for image models. `sha256` maps file
    name -> hex digest (filled by write_bundle).
    `encoder` is the MiniLM encoder a minilm or hybrid kind serves with; kind
    minilm-int8-logreg carries its quantized encoder as file role "encoder", and
    `encoder.quantization` says how it was built. A hybrid kind may carry one the same way
    (both or neither); without, it runs on the shipped encoder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    dataset: str
    kind: ModelKind
    labels: list[str] = Field(min_length=2)
    input_kind: InputKind
    vector_dim: int | None = Field(default=None, gt=0)
    # Image models: every image is resized to image_size x image_size (mitl_ml.images).
    image_size: int | None = Field(default=None, gt=0, le=MAX_IMAGE_SIZE)
    files: dict[str, str]
    sha256: dict[str, str] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    outlier: dict[str, Any] = Field(default_factory=dict)
    encoder: EncoderInfo | None = None
    # The encoder outputs a hybrid head reads, in order before the TF-IDF blocks: "mean" (the
    # sentence embedding), then "leading" (the first wordpiece's state; Encoded.leading).
    pooling: tuple[Pooling, ...] = ("mean",)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="after")
    def _consistent(self) -> ModelManifest:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels are not distinct")
        if _KIND_INPUT[self.kind] != self.input_kind:
            raise ValueError(f"kind {self.kind} takes {_KIND_INPUT[self.kind]} input")
        if (self.input_kind == "vector") != (self.vector_dim is not None):
            raise ValueError("vector_dim must be set exactly when input_kind is 'vector'")
        if (self.input_kind == "image") != (self.image_size is not None):
            raise ValueError("image_size must be set exactly when input_kind is 'image'")
        if self.kind == "minilm-int8-logreg":
            if self.encoder is None or not self.encoder.quantization:
                raise ValueError("kind minilm-int8-logreg needs encoder.quantization")
            if "encoder" not in self.files:
                raise ValueError("kind minilm-int8-logreg needs files['encoder']")
        elif self.kind in HYBRID_KINDS:
            quantized = self.encoder is not None and bool(self.encoder.quantization)
            if quantized != ("encoder" in self.files):
                raise ValueError(
                    f"kind {self.kind} carries a quantized encoder as files['encoder'] with "
                    "encoder.quantization, or neither"
                )
        elif self.encoder is not None and self.kind not in MINILM_KINDS:
            raise ValueError(f"kind {self.kind} has no sentence encoder")
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"pooling {list(self.pooling)} is none of {[list(p) for p in POOLINGS]}"
            )
        if self.pooling != ("mean",) and self.kind not in HYBRID_KINDS:
            raise ValueError(f"kind {self.kind} reads the sentence embedding alone (pooling mean)")
        for role, file_name in self.files.items():
            # Plain names only: a manifest must not point outside its own directory.
            if not file_name or Path(file_name).name != file_name or file_name in {".", ".."}:
                raise ValueError(f"files[{role!r}] = {file_name!r} is not a plain file name")
            if file_name == MANIFEST_FILE:
                raise ValueError(f"files[{role!r}] may not be {MANIFEST_FILE}")
        return self

    @property
    def carries_encoder(self) -> bool:
        """Does the bundle hold the encoder its head runs on (file role "encoder")? Kind
        minilm-int8-logreg always does, a hybrid kind on a built int8 encoder too."""
        return self.kind == "minilm-int8-logreg" or (
            self.kind in HYBRID_KINDS and "encoder" in self.files
        )


def with_digests(manifest: ModelManifest, files: Mapping[str, bytes]) -> ModelManifest:
    """Return `manifest` with `sha256` computed from `files` (file name -> content).

    Raises ValueError if a file named in `manifest.files` is missing from `files` or if
    `files` holds a file the manifest does not name.
    """
    named = set(manifest.files.values())
    if missing := named - set(files):
        raise ValueError(f"no content for bundle files {sorted(missing)}")
    if extra := set(files) - named:
        raise ValueError(f"files {sorted(extra)} are not named in the manifest")
    digests = {name: sha256_hex(files[name]) for name in sorted(files)}
    return manifest.model_copy(update={"sha256": digests})


def _atomic_write(path: Path, data: bytes) -> None:
    # Write-then-rename so a reader never sees a half-written file.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_bundle(
    bundle_dir: Path, manifest: ModelManifest, files: Mapping[str, bytes]
) -> ModelManifest:
    """Write `files` (file name -> bytes) and manifest.json into `bundle_dir`; return manifest.

    Digests are recomputed from the bytes actually written, so the stored manifest always
    matches. manifest.json is written last: a crash mid-write leaves no loadable bundle.
    """
    manifest = with_digests(manifest, files)
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        _atomic_write(bundle_dir / name, data)
    _atomic_write(bundle_dir / MANIFEST_FILE, manifest.model_dump_json(indent=2).encode())
    return manifest


def read_manifest(bundle_dir: Path) -> ModelManifest:
    """Parse `bundle_dir/manifest.json`; raise ModelLoadError if missing or invalid."""
    path = Path(bundle_dir) / MANIFEST_FILE
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read manifest ({exc.strerror})") from exc
    try:
        return ModelManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise ModelLoadError(f"{path}: invalid manifest: {exc}") from exc


def read_verified_files(bundle_dir: Path, manifest: ModelManifest) -> dict[str, bytes]:
    """Read every file the manifest names and check its sha256; return file name -> bytes.

    Raises ModelLoadError naming the file that is missing, has no digest, or does not match.
    """
    contents: dict[str, bytes] = {}
    for role, name in manifest.files.items():
        path = Path(bundle_dir) / name
        expected = manifest.sha256.get(name)
        if expected is None:
            raise ModelLoadError(f"{name} ({role}): manifest has no sha256 for it")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"{name} ({role}): cannot read ({exc.strerror})") from exc
        if (actual := sha256_hex(data)) != expected:
            raise ModelLoadError(
                f"{name} ({role}): sha256 mismatch, manifest {expected[:12]}…, file {actual[:12]}…"
            )
        contents[name] = data
    return contents
