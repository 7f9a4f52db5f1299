"""A content-addressed store of model bundles on local disk.

A bundle's address is the sha256 of its manifest.json. The manifest pins every other file by
its own sha256, so that one digest pins the whole bundle: two bundles with the same address
are byte-for-byte the same model. Stored bundles never change; storing the same bundle twice
is a no-op, so replicas and tools may store concurrently.

Layout: `<root>/<first two hex digits>/<digest>/{manifest.json, files named in it}`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import MANIFEST_FILE, read_manifest, read_verified_files, sha256_hex

DIGEST_CHARS = 64


def manifest_digest(bundle_dir: Path) -> str:
    """The address of the bundle at `bundle_dir`: sha256 of its manifest.json bytes.

    Raises ModelLoadError if the manifest cannot be read.
    """
    path = Path(bundle_dir) / MANIFEST_FILE
    try:
        return sha256_hex(path.read_bytes())
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read manifest ({exc.strerror})") from exc


def bundle_path(uri: str) -> Path:
    """The local directory of a `file://` bundle URI (or of a plain path).

    Raises ModelLoadError for other schemes: only local disk is supported.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path if parsed.scheme else uri))
    raise ModelLoadError(f"bundle URI {uri!r}: scheme {parsed.scheme!r} is not supported")


class ArtifactStore:
    """Bundles by digest under `root` (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if len(digest) != DIGEST_CHARS or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest

    def uri(self, digest: str) -> str:
        return self.path(digest).resolve().as_uri()

    def put(self, bundle_dir: Path) -> str:
        """Copy the bundle at `bundle_dir` into the store and return its digest.

        Only manifest.json and the files it names are copied, each checked against its
        sha256 first. Raises ModelLoadError if the bundle is unreadable or inconsistent.
        """
        digest = manifest_digest(bundle_dir)
        target = self.path(digest)
        if (target / MANIFEST_FILE).exists():
            return digest
        manifest = read_manifest(bundle_dir)
        contents = read_verified_files(bundle_dir, manifest)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Build in a sibling temporary directory and rename it into place: a reader never
        # sees a half-copied bundle, and a concurrent writer of the same bundle loses the
        # rename race harmlessly (the content is identical).
        staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
        try:
            for name, data in contents.items():
                (staging / name).write_bytes(data)
            shutil.copyfile(Path(bundle_dir) / MANIFEST_FILE, staging / MANIFEST_FILE)
            if manifest_digest(staging) != digest:
                raise ModelLoadError(f"{bundle_dir}: manifest.json changed while it was stored")
            try:
                os.rename(staging, target)
            except OSError:
                if not (target / MANIFEST_FILE).exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return digest

    def open(self, digest: str) -> Path:
        """The directory of stored bundle `digest`, after checking its manifest still hashes
        to `digest`. Raises ModelLoadError if it is missing or was altered."""
        target = self.path(digest)
        if not (target / MANIFEST_FILE).exists():
            raise ModelLoadError(f"bundle {digest[:12]}… is not in the artifact store {self.root}")
        if (actual := manifest_digest(target)) != digest:
            raise ModelLoadError(
                f"bundle {digest[:12]}… in {self.root}: manifest.json now hashes to {actual[:12]}…"
            )
        return target
