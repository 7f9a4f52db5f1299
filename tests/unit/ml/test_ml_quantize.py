"""The int8 encoder built from the shipped one (mitl_ml.quantize), and how a minilm-int8
bundle is packaged and refused (mitl_ml.runtime)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mitl_ml import quantize
from mitl_ml.bootstrap import build_bootstrap
from mitl_ml.encoder import MiniLMEncoder, default_model_path, default_model_sha256
from mitl_ml.manifest import ModelManifest, read_verified_files, sha256_hex, write_bundle
from mitl_ml.runtime import EncoderPool, ModelLoadError, load_model

TEXTS = ["What is the capital of Peru ?", "How far is Mars from the sun ?", "Who wrote Hamlet ?"]
Bundle = tuple[Path, ModelManifest]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, quantize.Quantization]:
    return quantize.built_encoder(tmp_path_factory.mktemp("encoder"))


@pytest.fixture(scope="module")
def int8(built: tuple[Path, quantize.Quantization]) -> MiniLMEncoder:
    path, record = built
    return MiniLMEncoder(2, model_path=path, quantization=record.as_dict())


@pytest.fixture(scope="module")
def int8_bundle(tmp_path_factory: pytest.TempPathFactory, int8: MiniLMEncoder) -> Bundle:
    out = tmp_path_factory.mktemp("bundles") / "trec6-minilm-int8"
    return out, build_bootstrap(out, "trec6", "minilm-int8", seed_size=300, seed=0, encoder=int8)


def rewrite(src: Bundle, dest: Path, replace: dict[str, bytes], **update: object) -> Path:
    directory, manifest = src
    files = read_verified_files(directory, manifest) | replace
    changed = ModelManifest.model_validate(manifest.model_dump() | update)
    write_bundle(dest, changed, files)
    return dest


def test_dequantized_graph_is_what_onnxruntime_ran() -> None:
    source = default_model_path().read_bytes()
    fp32 = quantize.dequantized(onnx.load_from_string(source))
    weights = {n.input[1] for n in fp32.graph.node if n.op_type == "MatMul"}
    initializers = {i.name for i in fp32.graph.initializer}
    # The 36 weight matrices (6 layers: q, k, v, out, ffn in, ffn out) are fp32 initializers.
    assert len(weights & initializers) == 36
    ids = np.array([[101, 2054, 2003, 1996, 3007, 102]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": 0 * ids}
    shipped = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    folded = ort.InferenceSession(fp32.SerializeToString(), providers=["CPUExecutionProvider"])
    names = {i.name for i in shipped.get_inputs()}
    feeds = {k: v for k, v in feeds.items() if k in names}
    a, b = shipped.run(None, feeds)[0], folded.run(None, feeds)[0]
    assert np.allclose(a, b, atol=1e-4)


def test_build_is_reproducible_and_recorded(
    built: tuple[Path, quantize.Quantization], tmp_path: Path
) -> None:
    path, record = built
    data = path.read_bytes()
    assert record.sha256 == sha256_hex(data) and record.source_sha256 == default_model_sha256()
    assert record.onnxruntime == ort.__version__
    assert record.recipe == quantize.RECIPES[quantize.DEFAULT_RECIPE].describe()
    assert quantize.integer_ops(data).get("MatMulInteger", 0) >= 36
    again = quantize.build(tmp_path / "again")
    assert again.sha256 == record.sha256
    assert json.loads((tmp_path / "again" / quantize.RECORD_FILE).read_text())["sha256"] == (
        record.sha256
    )
    # An altered file is not taken for the built one: it is built again.
    (tmp_path / "again" / quantize.ENCODER_FILE).write_bytes(b"altered")
    assert quantize.read_record(tmp_path / "again") is None
    assert quantize.built_encoder(tmp_path / "again")[1].sha256 == record.sha256


def test_int8_embeddings_stay_close_to_fp32(int8: MiniLMEncoder) -> None:
    fp32 = MiniLMEncoder(1).encode(TEXTS).embeddings
    quantized = int8.encode(TEXTS).embeddings
    assert quantized.shape == fp32.shape and np.all(np.isfinite(quantized))
    assert float((fp32 * quantized).sum(axis=1).min()) > 0.9
    assert int8.encoder_id == quantize.INT8_ENCODER_ID and int8.sha256 != default_model_sha256()


def test_int8_bundle_carries_its_encoder_and_records_it(
    int8_bundle: Bundle, int8: MiniLMEncoder
) -> None:
    directory, manifest = int8_bundle
    assert manifest.kind == "minilm-int8-logreg"
    assert manifest.version == "trec6-minilm-int8-bootstrap-s0"
    assert manifest.files["encoder"] == "encoder.onnx"
    assert manifest.sha256["encoder.onnx"] == int8.sha256 == manifest.training["encoder_sha256"]
    assert manifest.encoder is not None and manifest.encoder.quantization["recipe"]["name"] == (
        quantize.DEFAULT_RECIPE
    )
    assert manifest.encoder.quantization["source_sha256"] == default_model_sha256()
    assert manifest.metrics["holdout_accuracy"] > 0.7  # the shipped encoder: 0.73
    # Served without the built encoder's directory: the bundle's own copy is loaded.
    model = load_model(directory, intra_op_threads=1)
    assert model.encoder is not None and model.encoder.sha256 == int8.sha256
    assert model.predict(TEXTS).probabilities.shape == (3, 6)
    # Given the same encoder, the model shares it; given another, it loads its own.
    assert load_model(directory, encoder=int8).encoder is int8
    assert load_model(directory, encoder=MiniLMEncoder(1)).encoder is not int8


def test_encoder_pool_shares_one_session_per_encoder(
    int8_bundle: Bundle, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pool = EncoderPool(1, allow_spinning=False)
    first = load_model(int8_bundle[0], 1, pool)
    second = load_model(int8_bundle[0], 1, pool)
    assert first.encoder is second.encoder and pool.loaded() == [int8_bundle[1].encoder.sha256]  # type: ignore[union-attr]


def test_int8_bundle_with_another_encoder_is_refused(int8_bundle: Bundle, tmp_path: Path) -> None:
    shipped = default_model_path().read_bytes()
    swapped = rewrite(int8_bundle, tmp_path / "swapped", {"encoder.onnx": shipped})
    with pytest.raises(ModelLoadError, match="encoder mismatch") as error:
        load_model(swapped)
    assert "trained on encoder" in str(error.value)
    assert int8_bundle[1].training["encoder_sha256"][:12] in str(error.value)


def test_int8_bundle_whose_graph_does_not_load_is_refused(
    int8_bundle: Bundle, tmp_path: Path
) -> None:
    garbage = b"\x08\x07garbage that is not a graph"
    digest = sha256_hex(garbage)
    _, manifest = int8_bundle
    assert manifest.encoder is not None
    encoder = manifest.encoder.model_copy(update={"sha256": digest})
    training = manifest.training | {"encoder_sha256": digest}
    broken = rewrite(
        int8_bundle,
        tmp_path / "broken",
        {"encoder.onnx": garbage},
        encoder=encoder.model_dump(),
        training=training,
    )
    with pytest.raises(ModelLoadError, match=r"encoder\.onnx"):
        load_model(broken)


def test_int8_bundle_whose_graph_runs_in_fp32_is_refused(
    int8_bundle: Bundle, tmp_path: Path
) -> None:
    shipped = default_model_path().read_bytes()
    digest = sha256_hex(shipped)
    _, manifest = int8_bundle
    assert manifest.encoder is not None
    encoder = manifest.encoder.model_copy(update={"sha256": digest})
    fp32 = rewrite(
        int8_bundle,
        tmp_path / "fp32",
        {"encoder.onnx": shipped},
        encoder=encoder.model_dump(),
        training=manifest.training | {"encoder_sha256": digest},
    )
    with pytest.raises(ModelLoadError, match="no integer kernels"):
        load_model(fp32)


def test_fp32_bundle_trained_on_another_encoder_is_refused(
    minilm_bundle: Bundle, tmp_path: Path
) -> None:
    _, manifest = minilm_bundle
    assert manifest.training["encoder_sha256"] == default_model_sha256()
    other = rewrite(
        minilm_bundle,
        tmp_path / "other",
        {},
        training=manifest.training | {"encoder_sha256": "0" * 64},
    )
    with pytest.raises(ModelLoadError, match="encoder mismatch"):
        load_model(other)


def test_manifest_requires_the_quantization_record_for_int8(int8_bundle: Bundle) -> None:
    data = int8_bundle[1].model_dump()
    with pytest.raises(ValueError, match=r"encoder\.quantization"):
        ModelManifest.model_validate(data | {"encoder": None})
    files = {k: v for k, v in data["files"].items() if k != "encoder"}
    with pytest.raises(ValueError, match="files\\['encoder'\\]"):
        ModelManifest.model_validate(data | {"files": files})


def test_the_benchmarks_default_model_is_the_bootstrap_default() -> None:
    from mitl_cli import bench_inference
    from mitl_ml.bootstrap import DEFAULT_TEXT_KIND

    assert bench_inference.DEFAULT_MODEL == DEFAULT_TEXT_KIND
    assert set(bench_inference.BOOTSTRAP_KIND) <= set(bench_inference.MODELS)


def test_only_the_preprocessing_advice_is_dropped_and_only_while_quantizing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import inspect
    import logging

    from onnxruntime.quantization import quantize_dynamic

    # The text filtered is the one this onnxruntime logs.
    assert quantize.PREPROCESSING_ADVICE in inspect.getsource(quantize_dynamic)
    with caplog.at_level(logging.WARNING):
        with quantize._quiet_preprocessing():
            logging.warning(f"{quantize.PREPROCESSING_ADVICE}. Refer to example: ...")
            logging.warning("something else")
        logging.warning(f"{quantize.PREPROCESSING_ADVICE} (after)")
    assert [r.getMessage() for r in caplog.records] == [
        "something else",
        f"{quantize.PREPROCESSING_ADVICE} (after)",
    ]
