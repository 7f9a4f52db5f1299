import shutil
from pathlib import Path

import numpy as np
import pytest
from mitl_ml.bootstrap import BootstrapSplits
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.export import to_onnx_float
from mitl_ml.manifest import ModelManifest, read_verified_files, write_bundle
from mitl_ml.runtime import InvalidInput, ModelLoadError, load_model
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression

Bundle = tuple[Path, ModelManifest]


def _rewrite(src: Bundle, dest: Path, replace: dict[str, bytes], **update: object) -> Path:
    """Copy a bundle with some files replaced and manifest fields changed (digests redone)."""
    directory, manifest = src
    files = read_verified_files(directory, manifest) | replace
    manifest = manifest.model_copy(update=update)
    files = {name: files[name] for name in manifest.files.values()}
    write_bundle(dest, ModelManifest.model_validate(manifest.model_dump()), files)
    return dest


def _head(n_classes: int, dim: int) -> bytes:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, dim)).astype(np.float32)
    return to_onnx_float(LogisticRegression().fit(x, np.arange(60) % n_classes), dim)


def test_minilm_predict_contract(
    minilm_bundle: Bundle, encoder: MiniLMEncoder, trec_splits: BootstrapSplits
) -> None:
    model = load_model(minilm_bundle[0], encoder=encoder)
    assert model.version == "trec6-minilm-bootstrap-s0"
    assert model.labels == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert model.input_kind == "text"
    texts = [*trec_splits.holdout.texts()[:50], "long " * 300]
    out = model.predict(texts)
    assert out.probabilities.shape == (51, 6) and out.probabilities.dtype == np.float64
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert out.truncated == [False] * 50 + [True]
    assert out.embeddings is not None and out.embeddings.shape == (51, 384)
    assert out.outlier_scores.shape == (51,) and np.all(out.outlier_scores >= 0)
    # Calibrated so that in-distribution items are mostly below ~1.
    assert np.median(out.outlier_scores[:50]) < 1.0
    assert model.predict([]).probabilities.shape == (0, 6)


def test_heads_share_one_encoder(minilm_bundle: Bundle, encoder: MiniLMEncoder) -> None:
    first = load_model(minilm_bundle[0], encoder=encoder)
    second = load_model(minilm_bundle[0], encoder=encoder)
    assert first._encoder is second._encoder is encoder
    np.testing.assert_allclose(
        first.predict(["Who is he ?"]).probabilities, second.predict(["Who is he ?"]).probabilities
    )


def test_rejects_corrupt_onnx(minilm_bundle: Bundle, tmp_path: Path) -> None:
    bundle = _rewrite(minilm_bundle, tmp_path / "b", {"head.onnx": b"not an onnx model"})
    with pytest.raises(ModelLoadError, match=r"head\.onnx.*onnxruntime"):
        load_model(bundle)


def test_rejects_sha_mismatch(minilm_bundle: Bundle, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(minilm_bundle[0], bundle)
    (bundle / "centroids.npy").write_bytes((bundle / "centroids.npy").read_bytes()[:-4])
    with pytest.raises(ModelLoadError, match=r"centroids\.npy.*sha256 mismatch"):
        load_model(bundle)


def test_rejects_missing_file(minilm_bundle: Bundle, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(minilm_bundle[0], bundle)
    (bundle / "head.onnx").unlink()
    with pytest.raises(ModelLoadError, match=r"head\.onnx.*cannot read"):
        load_model(bundle)


def test_rejects_wrong_number_of_classes(minilm_bundle: Bundle, tmp_path: Path) -> None:
    bundle = _rewrite(minilm_bundle, tmp_path / "b", {"head.onnx": _head(3, 384)})
    with pytest.raises(ModelLoadError, match=r"expected 6 classes"):
        load_model(bundle)


def test_rejects_head_with_wrong_input_width(minilm_bundle: Bundle, tmp_path: Path) -> None:
    bundle = _rewrite(minilm_bundle, tmp_path / "b", {"head.onnx": _head(6, 64)})
    with pytest.raises(ModelLoadError, match=r"head\.onnx.*384"):
        load_model(bundle)


def test_rejects_tfidf_without_string_input(minilm_bundle: Bundle, tmp_path: Path) -> None:
    bundle = _rewrite(
        minilm_bundle,
        tmp_path / "b",
        {},
        kind="tfidf-logreg",
        files={"pipeline": "head.onnx"},
        outlier={"method": "none"},
        encoder=None,  # a TF-IDF pipeline has no sentence encoder
    )
    with pytest.raises(ModelLoadError, match=r"expected a string"):
        load_model(bundle)


def test_rejects_vector_dim_mismatch(digits_bundle: Bundle, tmp_path: Path) -> None:
    bundle = _rewrite(digits_bundle, tmp_path / "b", {}, vector_dim=32)
    with pytest.raises(ModelLoadError, match=r"head\.onnx.*32"):
        load_model(bundle)


def test_vector_model_input_checks(digits_bundle: Bundle, minilm_bundle: Bundle) -> None:
    model = load_model(digits_bundle[0])
    good = np.zeros((2, 64))
    assert model.predict(good).probabilities.shape == (2, 10)
    bad_nan = good.copy()
    bad_nan[1, 3] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        model.predict(bad_nan)
    with pytest.raises(InvalidInput, match="64"):
        model.predict(np.zeros((2, 63)))
    with pytest.raises(InvalidInput, match="text"):
        model.predict(["a text"])
    with pytest.raises(ValueError):  # InvalidInput is a ValueError
        model.predict(np.full((1, 64), np.inf))


def test_text_model_rejects_vectors(tfidf_bundle: Bundle) -> None:
    model = load_model(tfidf_bundle[0])
    with pytest.raises(InvalidInput):
        model.predict(np.zeros((1, 384)))
    with pytest.raises(InvalidInput):
        model.predict("a bare string")


def test_digits_outliers_rank_noise_higher(digits_bundle: Bundle) -> None:
    from mitl_ml.datasets import load_digits

    model = load_model(digits_bundle[0])
    real = model.predict(load_digits().vectors()[:200]).outlier_scores
    noise = model.predict(np.random.default_rng(0).uniform(0, 16, (50, 64))).outlier_scores
    assert np.median(noise) > np.median(real)


def _vector_bundle(dest: Path, head: bytes, dim: int, labels: list[str]) -> Path:
    manifest = ModelManifest(
        name="v",
        version="v-1",
        dataset="synthetic",
        kind="vector-onnx",
        labels=labels,
        input_kind="vector",
        vector_dim=dim,
        files={"head": "head.onnx"},
    )
    write_bundle(dest, manifest, {"head.onnx": head})
    return dest


def test_any_onnx_classifier_with_a_single_probability_output(tmp_path: Path) -> None:
    # A hand-built softmax classifier: one output, not named "probabilities".
    weights = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
        ],
        "softmax_classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    bundle = _vector_bundle(tmp_path / "b", model.SerializeToString(), 4, ["a", "b", "c"])
    out = load_model(bundle).predict(np.ones((2, 4)))
    logits = np.ones(4) @ weights
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(out.probabilities, [expected, expected], atol=1e-6)
    assert np.all(out.outlier_scores == 0)  # no centroids in this bundle


def test_rejects_zipmap_output(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    classifier = LogisticRegression().fit(x, np.arange(30) % 2)
    onx = convert_sklearn(classifier, initial_types=[("x", FloatTensorType([None, 4]))])
    bundle = _vector_bundle(tmp_path / "b", onx.SerializeToString(), 4, ["a", "b"])
    with pytest.raises(ModelLoadError, match="zipmap"):
        load_model(bundle)
