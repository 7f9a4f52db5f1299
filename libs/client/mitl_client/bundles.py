"""A model bundle directory packed for POST /v1/registry: a .tar.gz in memory, with
manifest.json at the archive's top (inference unpacks it and validates it as serving would)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def bundle_archive(bundle_dir: Path) -> bytes:
    """The bundle directory as a .tar.gz; ValueError if it holds no manifest.json."""
    if not (bundle_dir / "manifest.json").is_file():
        raise ValueError(f"{bundle_dir} is not a model bundle: it has no manifest.json")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(bundle_dir.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(bundle_dir).as_posix())
    return buffer.getvalue()
