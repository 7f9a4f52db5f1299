"""The hybrid kinds on the int8 encoder: a hybrid-logreg (and hybrid-ovr-onnx) bundle trained on
a built int8 encoder carries and records it as minilm-int8-logreg does, serves on it what it was
evaluated with, and is refused when the carried encoder is not the one its head was trained on
or does not load; a hybrid bundle trained on the shipped encoder still runs on the shared one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mitl_ml import quantize
from mitl_ml.bootstrap import BootstrapSplits
from mitl_ml.encoder import ENCODER_ID, MiniLMEncoder, default_model_path
from mitl_ml.export import EXPORT_TOLERANCE, onnx_features, onnx_probabilities
from mitl_ml.manifest import (
    ModelManifest,
    read_manifest,
    read_verified_files,
    sha256_hex,
    write_bundle,
)
from mitl_ml.runtime import EncoderPool, ModelLoadError, load_model
from mitl_ml.text_multilabel_data import load_wnut16_types
from mitl_ml.text_ovr import train_text_ovr
from mitl_ml.train import train_hybrid_logreg

pytestmark = pytest.mark.timeout(900)
TEXTS = ["What is the capital of Peru ?", "How far is Mars from the sun ?", "Who wrote Hamlet ?"]


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> MiniLMEncoder:
    path, record = quantize.built_encoder(tmp_path_factory.mktemp("encoder"))
    return MiniLMEncoder(2, model_path=path, quantization=record.as_dict())


def hybrid(splits: BootstrapSplits, encoder: MiniLMEncoder, out: Path) -> Path:
    seed_set, holdout = splits.seed_set, splits.holdout
    manifest, files = train_hybrid_logreg(
        seed_set.texts(),
        seed_set.label_list(),
        seed_set.labels,
        seed=0,
        name="trec6-hybrid",
        version=f"trec6-hybrid-{encoder.encoder_id}",
        dataset="trec6",
        encoder=encoder,
        holdout=(holdout.texts()[:150], holdout.label_list()[:150]),
    )
    write_bundle(out, manifest, files)
    return out


@pytest.fixture(scope="module")
def int8_hybrid(
    tmp_path_factory: pytest.TempPathFactory, trec_splits: BootstrapSplits, int8: MiniLMEncoder
) -> Path:
    return hybrid(trec_splits, int8, tmp_path_factory.mktemp("bundles") / "int8-hybrid")


def rewrite(src: Path, dest: Path, replace: dict[str, bytes], **update: object) -> Path:
    manifest = read_manifest(src)
    files = read_verified_files(src, manifest) | replace
    write_bundle(dest, ModelManifest.model_validate(manifest.model_dump() | update), files)
    return dest


def test_int8_hybrid_carries_its_encoder_and_serves_what_it_was_evaluated_with(
    int8_hybrid: Path, int8: MiniLMEncoder, trec_splits: BootstrapSplits
) -> None:
    manifest = read_manifest(int8_hybrid)
    assert manifest.kind == "hybrid-logreg" and manifest.carries_encoder
    assert set(manifest.files) == {"features", "head", "centroids", "encoder"}
    assert manifest.files["encoder"] == "encoder.onnx"
    assert manifest.sha256["encoder.onnx"] == int8.sha256 == manifest.training["encoder_sha256"]
    assert manifest.training["encoder"] == quantize.INT8_ENCODER_ID
    assert manifest.encoder is not None and manifest.encoder.id == quantize.INT8_ENCODER_ID
    assert manifest.encoder.quantization["recipe"]["name"] == quantize.DEFAULT_RECIPE
    # Served from the bundle alone, on its own copy of the encoder.
    model = load_model(int8_hybrid, intra_op_threads=1)
    assert model.encoder is not None and model.encoder.sha256 == int8.sha256
    assert model.encoder.quantization == manifest.encoder.quantization
    texts, labels = trec_splits.holdout.texts()[:150], trec_splits.holdout.label_list()[:150]
    served = model.predict(texts).probabilities
    # What training evaluated: the exported graphs on the training encoder's embeddings.
    files = read_verified_files(int8_hybrid, manifest)
    tfidf = onnx_features(files["features.onnx"], texts)
    x = np.hstack([int8.encode(texts).embeddings, tfidf])
    assert np.abs(served - onnx_probabilities(files["head.onnx"], x)).max() <= EXPORT_TOLERANCE
    index = {label: i for i, label in enumerate(model.labels)}
    accuracy = float((served.argmax(1) == np.array([index[lab] for lab in labels])).mean())
    assert accuracy == pytest.approx(manifest.metrics["holdout_accuracy"])
    # Given the same encoder it is shared; given the shipped one, the bundle's is loaded.
    assert load_model(int8_hybrid, encoder=int8).encoder is int8
    shipped = MiniLMEncoder(1)
    assert load_model(int8_hybrid, encoder=shipped).encoder.sha256 == int8.sha256  # type: ignore[union-attr]


def test_int8_hybrid_with_a_tampered_encoder_is_refused_naming_the_mismatch(
    int8_hybrid: Path, tmp_path: Path
) -> None:
    manifest = read_manifest(int8_hybrid)
    trained_on = manifest.training["encoder_sha256"]
    shipped = default_model_path().read_bytes()
    swapped = rewrite(int8_hybrid, tmp_path / "swapped", {"encoder.onnx": shipped})
    with pytest.raises(ModelLoadError, match="encoder mismatch") as error:
        load_model(swapped)
    assert f"trained on encoder {trained_on[:12]}" in str(error.value)
    assert f"encoder.onnx is {sha256_hex(shipped)[:12]}" in str(error.value)

    garbage = b"\x08\x07garbage that is not a graph"
    digest = sha256_hex(garbage)
    assert manifest.encoder is not None
    broken = rewrite(
        int8_hybrid,
        tmp_path / "broken",
        {"encoder.onnx": garbage},
        encoder=manifest.encoder.model_copy(update={"sha256": digest}).model_dump(),
        training=manifest.training | {"encoder_sha256": digest},
    )
    with pytest.raises(ModelLoadError, match="cannot load or run the quantized graph"):
        load_model(broken)


def test_hybrid_manifest_carries_a_quantized_encoder_with_its_file_or_neither(
    int8_hybrid: Path,
) -> None:
    data = read_manifest(int8_hybrid).model_dump()
    with pytest.raises(ValueError, match="or neither"):
        ModelManifest.model_validate(data | {"encoder": None})
    files = {k: v for k, v in data["files"].items() if k != "encoder"}
    with pytest.raises(ValueError, match="or neither"):
        ModelManifest.model_validate(data | {"files": files})
    ovr = data | {"kind": "hybrid-ovr-onnx"}
    assert ModelManifest.model_validate(ovr).carries_encoder
    with pytest.raises(ValueError, match="has no sentence encoder"):
        ModelManifest.model_validate(data | {"kind": "tfidf-logreg", "files": files})


def test_fp32_hybrid_bundle_still_runs_on_the_shared_shipped_encoder(
    int8_hybrid: Path,
    int8: MiniLMEncoder,
    trec_splits: BootstrapSplits,
    encoder: MiniLMEncoder,
    tmp_path: Path,
) -> None:
    old = hybrid(trec_splits, encoder, tmp_path / "fp32-hybrid")
    manifest = read_manifest(old)
    assert manifest.encoder is None and not manifest.carries_encoder
    assert "encoder" not in manifest.files and "encoder_sha256" not in manifest.training
    assert manifest.training["encoder"] == ENCODER_ID
    # One pool serving both: the int8 hybrid on its carried encoder, the old one on the shipped.
    pool = EncoderPool(1, allow_spinning=False)
    new_model, old_model = load_model(int8_hybrid, 1, pool), load_model(old, 1, pool)
    assert new_model.encoder is not None and new_model.encoder.sha256 == int8.sha256
    assert old_model.encoder is not None and old_model.encoder.quantization is None
    assert old_model.encoder.sha256 == encoder.sha256
    assert sorted(pool.loaded()) == sorted({int8.sha256, encoder.sha256})
    assert old_model.predict(TEXTS).probabilities.shape == (3, 6)
    # Given the int8 encoder to share, the old bundle still runs on the shipped one.
    assert load_model(old, encoder=int8).encoder.quantization is None  # type: ignore[union-attr]


def test_text_ovr_on_int8_carries_its_encoder(int8: MiniLMEncoder, tmp_path: Path) -> None:
    data = load_wnut16_types()
    rows = set(range(80))
    for j in range(len(data.labels)):
        rows |= set(np.flatnonzero(data.y[:, j])[:3].tolist())
    picked, sets = sorted(rows), data.label_sets()
    manifest, files = train_text_ovr(
        [data.texts[i] for i in picked], [sets[i] for i in picked], list(data.labels),
        encoder=int8, seed=0, name="t-ovr", version="t-ovr-1", dataset="tweets",
    )  # fmt: skip
    assert manifest.kind == "hybrid-ovr-onnx" and manifest.carries_encoder
    assert set(files) == {"features.onnx", "head.onnx", "encoder.onnx"}
    assert manifest.training["encoder_sha256"] == int8.sha256
    assert manifest.training["encoder"] == quantize.INT8_ENCODER_ID
    write_bundle(tmp_path, manifest, files)
    model = load_model(tmp_path, intra_op_threads=1)
    assert model.multilabel and model.encoder is not None
    assert model.encoder.sha256 == int8.sha256
    texts = data.texts[1000:1004]
    expected = onnx_probabilities(
        files["head.onnx"],
        np.hstack([int8.encode(texts).embeddings, onnx_features(files["features.onnx"], texts)]),
    )
    assert np.abs(model.predict(texts).probabilities - expected).max() <= EXPORT_TOLERANCE
