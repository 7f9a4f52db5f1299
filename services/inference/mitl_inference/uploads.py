"""A model bundle uploaded over HTTP: a tar archive (gzip-compressed or not) of the bundle
directory, `manifest.json` at its top or inside one top-level directory.

Unpacked with tarfile's "data" filter: absolute paths, `..`, links pointing outside, device
files and set-uid bits are refused, so an archive can only ever write inside the directory it
is unpacked into. Nothing is trusted beyond that: registration then validates the bundle as
serving would (digests, ONNX, fit to its dataset)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

MANIFEST = "manifest.json"


class BadUpload(ValueError):
    """The upload is not a bundle archive; the message says what is wrong with it."""


def unpack(data: bytes, into: Path) -> Path:
    """Unpack the archive `data` into the empty directory `into`; return the bundle directory
    (the one holding manifest.json). BadUpload names the problem."""
    if not data:
        raise BadUpload("the request has no body: send the bundle as a .tar.gz archive")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(into, filter="data")
    except tarfile.FilterError as error:
        raise BadUpload(f"the archive is refused: {error}") from None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BadUpload(f"the body is not a tar archive (.tar or .tar.gz): {error}") from None
    if (into / MANIFEST).is_file():
        return into
    tops = [p for p in into.iterdir()]
    if len(tops) == 1 and tops[0].is_dir() and (tops[0] / MANIFEST).is_file():
        return tops[0]
    raise BadUpload(
        f"the archive has no {MANIFEST} at its top or inside its one top-level directory"
    )
