"""Image items in the contracts: base64 PNG/JPEG in `image`, or an `image_url`."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import ItemContent, ItemRaw
from pydantic import ValidationError

from tests.support_images import b64, gif, jpeg, png


def test_an_image_item_carries_its_bytes_base64_encoded() -> None:
    content = ItemContent(image=b64(png()))
    assert content.kind == "image" and content.image_data == png()
    assert ItemContent(image=b64(jpeg())).kind == "image"


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("not base64!", "not valid base64"),
        ("", "'image' is empty"),
        (b64(gif()), "neither PNG nor JPEG"),
    ],
)
def test_bad_image_fields_are_refused_naming_the_fault(image: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        ItemContent(image=image)


def test_an_item_has_exactly_one_input() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'text', 'vector' or 'image'"):
        ItemContent(text="a", image=b64(png()))


def test_a_url_item_is_valid_but_has_no_content_until_fetched() -> None:
    raw = ItemRaw(dataset="d", external_id="e", image_url="https://example.org/a.png")
    with pytest.raises(ValueError, match="not been fetched"):
        _ = raw.content
    with pytest.raises(ValidationError, match="no 'text', 'vector' or 'image'"):
        ItemRaw(dataset="d", external_id="e", image_url="https://x.org/a.png", text="t")
    with pytest.raises(ValidationError, match="image_url"):
        ItemRaw(dataset="d", external_id="e", image_url="file:///etc/passwd")


def test_events_written_before_images_still_read() -> None:
    raw = ItemRaw.model_validate_json('{"dataset": "d", "external_id": "e", "text": "hello"}')
    assert raw.content.kind == "text" and raw.content.image is None
    old = ItemContent.model_validate_json('{"vector": [1.0, 2.0], "metadata": {}}')
    assert old.kind == "vector" and old.image_data is None


def test_a_dataset_bounds_the_image_bytes() -> None:
    dataset = Dataset(name="d", input_kind="image", labels=["a", "b"], max_image_bytes=50)
    with pytest.raises(ValueError, match=r"image has .* bytes; dataset 'd' allows 50"):
        dataset.check_content(ItemContent(image=b64(png(32, 32))))
    with pytest.raises(ValueError, match="takes image items, not text"):
        dataset.check_content(ItemContent(text="x"))
    assert Dataset(name="e", labels=["a", "b"]).image_urls is False
