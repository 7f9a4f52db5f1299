"""Registration validates a bundle as serving would: a corrupt ONNX, ONNX inputs that do not
match the manifest, or a model for another dataset are refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_contracts.datasets import Catalog, Dataset
from mitl_inference.registration import RegistrationError, validate
from mitl_ml.bootstrap import build_bootstrap
from mitl_ml.manifest import ModelManifest, read_verified_files, write_bundle

DIGITS = Dataset(
    name="digits", input_kind="vector", labels=[str(d) for d in range(10)], vector_dim=64
)
CATALOG = Catalog(datasets={"digits": DIGITS})


@pytest.fixture(scope="module")
def digits_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    out = tmp_path_factory.mktemp("bundles") / "digits"
    return out, build_bootstrap(out, "digits", "vector", seed_size=200, seed=0)


def rewrite(
    source: tuple[Path, ModelManifest], dest: Path, replace: dict[str, bytes], **update: object
) -> Path:
    """A copy of the bundle with files replaced and manifest fields changed, digests redone
    (so that only the ONNX itself, not its checksum, is wrong)."""
    directory, manifest = source
    files = read_verified_files(directory, manifest) | replace
    changed = ModelManifest.model_validate(manifest.model_copy(update=update).model_dump())
    write_bundle(dest, changed, files)
    return dest


def test_a_good_bundle_validates(digits_bundle: tuple[Path, ModelManifest]) -> None:
    assert validate(digits_bundle[0], CATALOG).version == "digits-vector-bootstrap-s0"


def test_corrupt_onnx_is_refused(digits_bundle: tuple[Path, ModelManifest], tmp_path: Path) -> None:
    bundle = rewrite(digits_bundle, tmp_path / "b", {"head.onnx": b"\x08\x07garbage"})
    with pytest.raises(RegistrationError, match=r"head\.onnx: onnxruntime cannot load it"):
        validate(bundle, CATALOG)


def test_onnx_inputs_must_match_the_manifest(
    digits_bundle: tuple[Path, ModelManifest], tmp_path: Path
) -> None:
    bundle = rewrite(digits_bundle, tmp_path / "b", {}, vector_dim=32)
    narrow = Catalog(datasets={"digits": DIGITS.model_copy(update={"vector_dim": 32})})
    with pytest.raises(RegistrationError, match=r"input shape .*64.*expected \[batch, 32\]"):
        validate(bundle, narrow)


def test_the_model_must_fit_its_dataset(
    digits_bundle: tuple[Path, ModelManifest], tmp_path: Path
) -> None:
    other = Catalog(datasets={"digits": DIGITS.model_copy(update={"vector_dim": 16})})
    with pytest.raises(RegistrationError, match="vectors of 64 values; dataset 'digits' has 16"):
        validate(digits_bundle[0], other)
    with pytest.raises(RegistrationError, match="unknown dataset 'digits'"):
        validate(digits_bundle[0], Catalog(datasets={}))
    with pytest.raises(RegistrationError, match="cannot read manifest"):
        validate(tmp_path / "nothing", CATALOG)
