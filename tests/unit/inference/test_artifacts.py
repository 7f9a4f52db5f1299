"""The content-addressed artifact store: a bundle's address is the sha256 of its manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from mitl_ml.artifacts import ArtifactStore, bundle_path, manifest_digest
from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import ModelManifest, write_bundle


def bundle(directory: Path, head: bytes = b"onnx bytes", version: str = "m-1") -> Path:
    manifest = ModelManifest(
        name="m",
        version=version,
        dataset="trec6",
        kind="tfidf-logreg",
        labels=["A", "B"],
        input_kind="text",
        files={"pipeline": "pipeline.onnx"},
    )
    write_bundle(directory, manifest, {"pipeline.onnx": head})
    (directory / "stray.txt").write_text("not named in the manifest")
    return directory


def test_put_stores_the_named_files_under_the_manifest_digest(tmp_path: Path) -> None:
    source = bundle(tmp_path / "src")
    store = ArtifactStore(tmp_path / "store")
    digest = store.put(source)
    assert digest == hashlib.sha256((source / "manifest.json").read_bytes()).hexdigest()
    stored = store.open(digest)
    assert stored == tmp_path / "store" / digest[:2] / digest
    assert sorted(p.name for p in stored.iterdir()) == ["manifest.json", "pipeline.onnx"]
    assert store.uri(digest).startswith("file://") and bundle_path(store.uri(digest)) == stored
    assert store.put(source) == digest  # storing again is a no-op


def test_different_content_gets_a_different_address(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    first = store.put(bundle(tmp_path / "a"))
    second = store.put(bundle(tmp_path / "b", head=b"other bytes"))
    assert first != second and store.open(first) != store.open(second)


def test_a_file_not_matching_its_digest_is_refused(tmp_path: Path) -> None:
    source = bundle(tmp_path / "src")
    (source / "pipeline.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelLoadError, match="sha256 mismatch"):
        ArtifactStore(tmp_path / "store").put(source)


def test_an_altered_stored_bundle_is_detected(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    digest = store.put(bundle(tmp_path / "src"))
    manifest = store.path(digest) / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b" ")
    with pytest.raises(ModelLoadError, match="now hashes to"):
        store.open(digest)
    with pytest.raises(ModelLoadError, match="not in the artifact store"):
        store.open("0" * 64)


def test_addresses_and_uris_are_checked(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ValueError, match="not a sha256"):
        store.path("../../etc")
    with pytest.raises(ModelLoadError, match="scheme 's3' is not supported"):
        bundle_path("s3://bucket/model")
    assert bundle_path("/srv/models/x") == Path("/srv/models/x")
    with pytest.raises(ModelLoadError, match="cannot read manifest"):
        manifest_digest(tmp_path / "missing")
