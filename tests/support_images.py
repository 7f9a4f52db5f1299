"""Small real images for tests: PNG and JPEG bytes made with Pillow, and broken ones."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def png(width: int = 8, height: int = 8, value: int = 128) -> bytes:
    """A grayscale PNG of one `value`, with a bright diagonal so it is not flat."""
    pixels = np.full((height, width), value, dtype=np.uint8)
    for i in range(min(width, height)):
        pixels[i, i] = 255
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 16, height: int = 16) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("L", (4, 4), 9).save(out, format="GIF")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def truncated_png() -> bytes:
    """A 24x24 PNG whose signature and header are whole but whose pixel data is cut off."""
    noise = np.random.default_rng(0).integers(0, 256, (24, 24), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG")
    data = out.getvalue()
    return data[: len(data) // 2]
