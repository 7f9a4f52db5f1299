"""Exceptions raised by mitl_ml; callers catch these instead of onnxruntime/pydantic errors."""

from __future__ import annotations


class ModelLoadError(Exception):
    """A model bundle cannot be served: missing file, bad digest, bad ONNX, or shape mismatch.

    The message always names the bundle file or manifest field at fault, so an operator can
    fix the bundle without reading a traceback.
    """


class InvalidInput(ValueError):
    """An input that the loaded model cannot score (wrong kind, wrong length, NaN/inf).

    A ValueError subclass so generic request validation can treat it as a client error.
    """
