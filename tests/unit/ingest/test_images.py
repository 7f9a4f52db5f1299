"""Ingest's checks of image items: decode, dimensions, byte limit, URLs only where allowed."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Catalog
from mitl_contracts.events import ItemRaw
from mitl_ingest import core

from tests.support_images import b64, jpeg, png, truncated_png

CATALOG = Catalog.model_validate(
    {
        "datasets": {
            "pics": {
                "input_kind": "image",
                "labels": ["a", "b"],
                "max_image_side": 32,
                "max_image_bytes": 4000,
            },
            "webpics": {"input_kind": "image", "labels": ["a", "b"], "image_urls": True},
            "texts": {"labels": ["a", "b"]},
        }
    }
)


def raw(dataset: str = "pics", **fields: object) -> ItemRaw:
    return ItemRaw.model_validate({"dataset": dataset, "external_id": "e1", **fields})


def test_a_whole_png_or_jpeg_within_the_limits_is_accepted() -> None:
    assert core.triage(raw(image=b64(png(8, 8))), CATALOG) is None
    assert core.triage(raw(image=b64(jpeg(16, 16))), CATALOG) is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"image": b64(truncated_png())}, "image does not decode"),
        ({"image": b64(png(33, 8))}, "image is 33x8 pixels; at most 32 each way"),
        ({"image": b64(png(8, 8) + bytes(5000))}, "allows 4000 (max_image_bytes)"),
        ({"image": b64(b"\x89PNG\r\n\x1a\n" + b"garbage")}, "not a PNG or JPEG image"),
        ({"text": "hello"}, "takes image items, not text"),
        ({"image_url": "https://example.org/a.png"}, "does not allow fetching images by URL"),
    ],
)
def test_a_bad_image_is_rejected_naming_the_fault(fields: dict, reason: str) -> None:
    outcome = core.triage(raw(**fields), CATALOG)
    assert outcome is not None and outcome.status == "rejected"
    assert reason in (outcome.reason or ""), outcome.reason


def test_only_datasets_that_allow_urls_have_them_fetched() -> None:
    url = "https://example.org/a.png"
    assert core.to_fetch(raw(image_url=url), CATALOG) is None
    assert core.to_fetch(raw("texts", image_url=url), CATALOG) is None
    assert core.to_fetch(raw("webpics", image_url=url), CATALOG) == url
    outcome = core.triage(raw("texts", image_url=url), CATALOG)
    assert outcome is not None and "takes text items, not image" in (outcome.reason or "")


def test_a_fetched_image_becomes_the_item_image_and_keeps_its_url() -> None:
    url = "https://example.org/a.png"
    fetched = core.with_image(raw("webpics", image_url=url), png())
    assert fetched.image_url is None and fetched.content.image_data == png()
    assert fetched.metadata["image_url"] == url
    assert core.triage(fetched, CATALOG) is None
    item = core.ingested(fetched, "b")
    assert item.content.kind == "image" and item.content.image == b64(png())
