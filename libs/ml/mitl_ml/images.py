"""Images as models see them: decode PNG or JPEG bytes with Pillow, check their size, and turn
them into pixels (grayscale, resized to a fixed square, flattened, scaled to [0, 1]).

Pure: bytes in, arrays or errors out. Ingest checks every image item with `check` before it
enters the stream; the pixels model kind (mitl_ml.train.train_pixels_classifier) and the
simulator featurize with `pixels`, so a served model sees exactly what it was trained on.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from mitl_ml.errors import InvalidInput

FORMATS = ("PNG", "JPEG")


class InvalidImage(ValueError):
    """The bytes are not an image this platform takes; the message names the fault."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def check(data: bytes, max_side: int) -> ImageInfo:
    """Decode `data` fully and check it: PNG or JPEG, at most `max_side` pixels each way.
    Raises InvalidImage naming the fault (not an image, another format, truncated, too big)."""
    image = _open(data)
    width, height = image.size
    if width > max_side or height > max_side:
        raise InvalidImage(f"image is {width}x{height} pixels; at most {max_side} each way")
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"image does not decode: {error}") from None
    return ImageInfo(str(image.format), width, height)


def _open(data: bytes) -> Image.Image:
    # Pillow's decompression-bomb guard (Image.MAX_IMAGE_PIXELS) is an error here, not a
    # warning: an image that large is refused before its pixels are decoded.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InvalidImage(
            f"image has more than {Image.MAX_IMAGE_PIXELS} pixels: refused undecoded"
        ) from None
    except UnidentifiedImageError:
        raise InvalidImage("not a PNG or JPEG image Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"image does not decode: {error}") from None
    if image.format not in FORMATS:
        raise InvalidImage(f"image is {image.format}; only PNG and JPEG are taken")
    return image


def pixels(data: bytes, size: int) -> np.ndarray:
    """float32 [size * size]: the image in grayscale (ITU-R 601 luma), resized to size x size
    (box filter: each output pixel averages the input pixels under it), row by row, / 255."""
    image = _open(data)
    try:
        gray = image.convert("L")
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"image does not decode: {error}") from None
    if gray.size != (size, size):
        gray = gray.resize((size, size), Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32).reshape(-1) / 255.0


def pixel_matrix(images: Sequence[bytes], size: int) -> np.ndarray:
    """float32 [n, size * size] for `images`; InvalidInput naming the first bad one."""
    rows = np.zeros((len(images), size * size), dtype=np.float32)
    for i, data in enumerate(images):
        if not isinstance(data, bytes):
            raise InvalidInput(f"input {i} is {type(data).__name__}; this model takes image bytes")
        try:
            rows[i] = pixels(data, size)
        except InvalidImage as error:
            raise InvalidInput(f"input {i}: {error}") from None
    return rows


def encode_png(gray: np.ndarray) -> bytes:
    """PNG bytes of a 2-D uint8 grayscale array (deterministic: no timestamps, fixed level)."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError("encode_png takes a 2-D uint8 array")
    out = io.BytesIO()
    Image.fromarray(gray).save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()
