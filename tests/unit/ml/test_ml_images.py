"""Images for models: decoding checks, pixels, the PNG datasets and the pixels model kind."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from mitl_ml import images
from mitl_ml.bootstrap import build_bootstrap
from mitl_ml.datasets import load_image_dataset
from mitl_ml.errors import InvalidInput
from mitl_ml.manifest import ModelManifest
from mitl_ml.runtime import load_model
from PIL import Image

from tests.support_images import gif, jpeg, png, truncated_png


def test_check_decodes_and_bounds_the_image() -> None:
    assert images.check(png(8, 6), 8) == images.ImageInfo("PNG", 8, 6)
    assert images.check(jpeg(), 16).format == "JPEG"
    with pytest.raises(images.InvalidImage, match="9x8 pixels; at most 8"):
        images.check(png(9, 8), 8)
    with pytest.raises(images.InvalidImage, match="does not decode"):
        images.check(truncated_png(), 100)
    with pytest.raises(images.InvalidImage, match="only PNG and JPEG"):
        images.check(gif(), 100)


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("1", (9500, 9500)).save(out, format="PNG")  # 90 M pixels in a few kB
    with pytest.raises(images.InvalidImage, match="more than 89478485 pixels"):
        images.check(out.getvalue(), 100_000)


def test_pixels_are_grayscale_resized_and_scaled_to_unit() -> None:
    flat = images.pixels(png(8, 8, value=0), 8)
    assert flat.shape == (64,) and flat.dtype == np.float32
    assert flat[0] == 1.0 and flat[1] == 0.0  # the bright diagonal, the dark rest
    assert images.pixels(png(16, 16, value=51), 4).shape == (16,)
    assert 0.0 <= images.pixels(jpeg(), 5).min() <= images.pixels(jpeg(), 5).max() <= 1.0


def test_image_datasets_are_png_encoded_and_labeled() -> None:
    digits = load_image_dataset("digits")
    assert len(digits) == 1797 and digits.input_kind == "image"
    assert digits.labels == tuple(str(d) for d in range(10))
    assert images.check(digits.images()[0], 8) == images.ImageInfo("PNG", 8, 8)
    lfw = load_image_dataset("lfw")
    assert len(lfw) == 200 and lfw.labels == ("face", "non-face")
    assert lfw.label_list().count("face") == 100
    assert images.check(lfw.images()[0], 25).width == 25
    with pytest.raises(ValueError, match="unknown image dataset 'trec6'"):
        load_image_dataset("trec6")


@pytest.fixture(scope="module")
def pixels_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    out = tmp_path_factory.mktemp("bundles") / "digits-pixels"
    return out, build_bootstrap(out, "digits", "pixels", seed_size=300, seed=0)


def test_the_pixels_model_serves_images_through_onnx(
    pixels_bundle: tuple[Path, ModelManifest],
) -> None:
    path, manifest = pixels_bundle
    assert manifest.kind == "pixels-logreg" and manifest.input_kind == "image"
    assert manifest.image_size == 8 and manifest.metrics["holdout_accuracy"] > 0.9
    model = load_model(path)
    digits = load_image_dataset("digits")
    out = model.predict(digits.images()[:20])
    assert out.probabilities.shape == (20, 10)
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0, atol=1e-5)
    predicted = [model.labels[i] for i in out.probabilities.argmax(axis=1)]
    assert sum(p == t for p, t in zip(predicted, digits.label_list()[:20], strict=True)) >= 17


def test_the_pixels_model_rejects_what_is_not_an_image(
    pixels_bundle: tuple[Path, ModelManifest],
) -> None:
    model = load_model(pixels_bundle[0])
    with pytest.raises(InvalidInput, match="input 1: image does not decode"):
        model.predict([png(), truncated_png()])
    with pytest.raises(InvalidInput, match="takes images"):
        model.predict(["a text"])


def test_an_image_manifest_needs_its_size() -> None:
    with pytest.raises(ValueError, match="image_size must be set exactly"):
        ModelManifest(
            name="n", version="v", dataset="d", kind="pixels-logreg", labels=["a", "b"],
            input_kind="image", files={"head": "head.onnx"},
        )  # fmt: skip
