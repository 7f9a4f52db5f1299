"""Unpacking an uploaded bundle archive: the bundle directory is found at the top or one level
down, and nothing can be written outside the target directory."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from mitl_client.bundles import bundle_archive
from mitl_inference.uploads import BadUpload, unpack


def archive(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return buffer.getvalue()


def test_the_bundle_is_at_the_top_or_in_the_one_top_directory(tmp_path: Path) -> None:
    top = unpack(archive([("manifest.json", b"{}"), ("head.onnx", b"x")]), tmp_path / "a")
    assert top == tmp_path / "a" and (top / "head.onnx").read_bytes() == b"x"
    nested = unpack(archive([("bundle/manifest.json", b"{}")], mode="w"), tmp_path / "b")
    assert nested == tmp_path / "b" / "bundle"


def test_the_client_packs_what_the_service_unpacks(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "encoder").mkdir(parents=True)
    (bundle / "manifest.json").write_text("{}")
    (bundle / "encoder" / "model.onnx").write_bytes(b"onnx")
    out = unpack(bundle_archive(bundle), tmp_path / "out")
    assert (out / "encoder" / "model.onnx").read_bytes() == b"onnx"
    with pytest.raises(ValueError, match=r"no manifest\.json"):
        bundle_archive(bundle / "encoder")


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([("../outside/manifest.json", b"{}")], "refused"),
        ([("readme.txt", b"hi")], r"no manifest\.json"),
        ([("a/manifest.json", b"{}"), ("b/manifest.json", b"{}")], r"no manifest\.json"),
    ],
)
def test_archives_that_escape_or_hold_no_bundle_are_refused(
    tmp_path: Path, members: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(BadUpload, match=reason):
        unpack(archive(list(members)), tmp_path / "x")
    assert not (tmp_path / "outside").exists()


def test_an_absolute_path_lands_inside_the_directory(tmp_path: Path) -> None:
    bundle = unpack(archive([("/etc/manifest.json", b"{}")]), tmp_path / "x")
    assert bundle == tmp_path / "x" / "etc" and (bundle / "manifest.json").read_text() == "{}"


def test_a_link_out_of_the_directory_and_garbage_are_refused(tmp_path: Path) -> None:
    link = tarfile.TarInfo("manifest.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(BadUpload, match="refused"):
        unpack(archive([link]), tmp_path / "x")
    with pytest.raises(BadUpload, match="not a tar archive"):
        unpack(b"PK\x03\x04 a zip file", tmp_path / "y")
    with pytest.raises(BadUpload, match="no body"):
        unpack(b"", tmp_path / "z")
