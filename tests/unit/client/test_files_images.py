"""Images out of files and folders: a folder of PNG and JPEG files (one subfolder per label, as
`mitl bootstrap` reads labels) and an `image` column naming a file beside the CSV or JSON Lines
file, or holding a data URL. Each image becomes an image item (its bytes base64-encoded);
what is not an image, a file that is missing or too large, is rejected with its name and the
rest carry on. Real images: scikit-learn's digits, PNG-encoded."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from mitl_client.files import BadFile, Rejected, Row, count, kind_of, read
from mitl_contracts.events import MAX_IMAGE_BYTES
from mitl_ml.images import encode_png
from sklearn.datasets import load_digits

DIGITS = load_digits()


def png(n: int) -> bytes:
    return encode_png((DIGITS.images[n] * 255 / 16).astype(np.uint8))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "scans"
    for n in range(6):
        label = root / str(DIGITS.target[n])
        label.mkdir(parents=True, exist_ok=True)
        (label / f"{n:03d}.png").write_bytes(png(n))
    (root / "loose.PNG").write_bytes(png(6))
    (root / "README.txt").write_text("not an image")
    return root


def test_a_folder_gives_an_image_item_per_file_labeled_by_its_subfolder(folder: Path) -> None:
    assert kind_of(folder) == "folder"
    assert count(folder) == 8
    records = list(read(folder))
    rejected = [r for r in records if isinstance(r, Rejected)]
    items = [r.item for r in records if isinstance(r, Row)]
    assert [r.reason for r in rejected] == ["README.txt: not an image file (.png, .jpg, .jpeg)"]
    assert rejected[0].external_id == "README.txt"
    by_id = {item.external_id: item for item in items}
    assert set(by_id) == {"loose.PNG", *(f"{DIGITS.target[n]}/{n:03d}.png" for n in range(6))}
    first = by_id["0/000.png"]
    assert base64.b64decode(first.image or "") == png(0)
    assert first.metadata == {"label": "0"} and first.text is None
    assert by_id["loose.PNG"].metadata == {}
    # The same folder read again gives the same ids: an import of it resumes.
    assert [r.item.external_id for r in read(folder) if isinstance(r, Row)] == [
        item.external_id for item in items
    ]


def test_a_broken_image_in_a_folder_is_rejected_by_name(folder: Path) -> None:
    (folder / "3" / "broken.png").write_bytes(b"GIF89a not a png")
    records = {r.line: r for r in read(folder)}
    broken = [r for r in records.values() if isinstance(r, Rejected) and "broken" in r.reason]
    assert len(broken) == 1
    assert broken[0].reason.startswith("3/broken.png: ")
    assert "neither PNG nor JPEG" in broken[0].reason


def test_an_image_column_names_a_file_beside_the_csv_or_holds_a_data_url(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png(1))
    url = "data:image/png;base64," + base64.b64encode(png(2)).decode()
    path = tmp_path / "items.csv"
    path.write_text(
        f'id,image,label\na,img/a.png,1\nb,"{url}",2\nc,img/missing.png,3\nd,data:image/png,4\n'
    )
    a, b, missing, bad_url = read(path)
    assert isinstance(a, Row) and base64.b64decode(a.item.image or "") == png(1)
    assert a.item.metadata == {"label": "1"}
    assert isinstance(b, Row) and base64.b64decode(b.item.image or "") == png(2)
    assert isinstance(missing, Rejected)
    assert missing.reason == "line 4: image 'img/missing.png': No such file or directory"
    assert isinstance(bad_url, Rejected) and "data:image/...;base64," in bad_url.reason


def test_json_lines_images_and_a_file_over_the_limit(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png(3))
    (tmp_path / "huge.png").write_bytes(png(3) + b"\0" * MAX_IMAGE_BYTES)
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps({"id": "a", "image": "a.png"})
        + "\n"
        + json.dumps({"id": "h", "image": "huge.png"})
        + "\n"
        + json.dumps({"id": "n", "image": 7})
        + "\n"
    )
    a, huge, number = read(path)
    assert isinstance(a, Row) and a.item.external_id == "a"
    assert (
        isinstance(huge, Rejected) and f"an item carries at most {MAX_IMAGE_BYTES}" in huge.reason
    )
    assert isinstance(number, Rejected)
    assert number.reason == "line 3: 'image' is a path or a data URL, not 7"


def test_a_file_named_as_a_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("text\nhello\n")
    with pytest.raises(BadFile, match="not a folder"):
        list(read(path, kind="folder"))
