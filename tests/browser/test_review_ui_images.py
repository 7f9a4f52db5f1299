"""An image item in the labeling UI, in a real headless Chromium against review-api with the
real broker and Postgres: an 8x8 handwritten digit (a PNG from scikit-learn's digits) is shown
at a fixed size with its pixels kept sharp, the annotator corrects the model's suggestion with a
number key and Enter, and the label is on mitl.labels.v1."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_ml.datasets import load_image_dataset
from mitl_review.settings import Settings
from mitl_runtime.localinfra import free_port
from playwright.sync_api import expect, sync_playwright

from tests.browser.test_review_ui import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    Server,
    create_user,
    labels_for,
    served,
    waiting,
)
from tests.support import publish_raw

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DIGITS = [str(d) for d in range(10)]


@pytest.fixture
def image_server(service_env: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    """review-api for an image dataset of digits, served by uvicorn in a thread."""
    dataset = f"img-{uuid.uuid4().hex[:6]}"
    datasets = tmp_path / "datasets.yaml"
    datasets.write_text(
        f"datasets:\n  {dataset}:\n    input_kind: image\n    labels: {json.dumps(DIGITS)}\n"
    )
    port = free_port()
    settings = Settings(
        **{**service_env, "datasets_file": datasets, "http_port": port, "gold_rate": 0.0}
    )
    with served(settings) as url:
        yield Server(url, dataset, settings)


def test_an_image_item_is_shown_crisply_and_labeled(
    image_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser` (apt-get install chromium)"
    server = image_server
    ds, kafka = server.dataset, server.settings.kafka_bootstrap_servers
    _, admin_token = create_user(server.settings, "admin", monkeypatch, capsys)
    name, token = create_user(server.settings, "annotator", monkeypatch, capsys)
    digit = next(e for e in load_image_dataset("digits").examples if e.label == "5")
    assert digit.image is not None
    probabilities = [0.0225] * 10
    probabilities[3], probabilities[5] = 0.62, 0.2
    request = {
        "event_id": f"rr-{ds}-1",
        "dataset": ds,
        "item_id": f"item-{ds}-1",
        "decision_event_id": f"decision-{ds}-1",
        "queue": "annotator",
        "priority": 0.8,
        "reason": "margin 0.42",
        "content": {"image": base64.b64encode(digit.image).decode(), "metadata": {}},
        "suggested_label": "3",
        "confidence": 0.62,
        "labels": DIGITS,
        "probabilities": probabilities,
        "model_version": "digits-pixels-m1",
        "policy_version": "test-v1",
    }
    asyncio.run(publish_raw(kafka, topics.REVIEW_REQUESTED, [json.dumps(request).encode()]))
    waiting(server, admin_token, 1)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()
            blocked: list[str] = []
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
            )
            page.goto(server.url)
            page.keyboard.type(token)
            page.keyboard.press("Enter")
            expect(page.locator("#whoami")).to_have_text(f"{name} (annotator)")
            page.locator("#dataset").select_option(ds)
            # Enter on the picker itself: a bare key press goes wherever the focus happens to be.
            page.locator("#dataset").press("Enter")

            image = page.locator("#item img.item-image")
            # The first claim may wait for the task's lease query on a loaded machine.
            expect(image).to_be_visible(timeout=20_000)
            expect(image).to_have_attribute("alt", f"Image item item-{ds}-1")
            expect(page.locator("#suggestion")).to_contain_text("Model suggests 3 with 62.0%")
            shown = image.evaluate(
                """img => ({
                  natural: [img.naturalWidth, img.naturalHeight],
                  box: [img.getBoundingClientRect().width, img.getBoundingClientRect().height],
                  rendering: getComputedStyle(img).imageRendering,
                })"""
            )
            # The 8x8 PNG decoded in the browser, scaled up to the fixed size, pixels sharp.
            assert shown == {"natural": [8, 8], "box": [256, 256], "rendering": "pixelated"}
            assert blocked == []
            page.screenshot(path=str(tmp_path / "image-item.png"))

            # Key 6 picks the sixth label, "5": a correction of the suggested "3".
            page.keyboard.press("6")
            expect(page.locator("#labels button").nth(5)).to_have_attribute("aria-pressed", "true")
            page.keyboard.press("Enter")
            expect(page.locator("#status")).to_contain_text("Saved 5. The queue is empty.")
        finally:
            context.close()

    (label,) = labels_for(kafka, {f"item-{ds}-1"})
    assert (label.action, label.label, label.annotator) == ("correct", "5", name)
    assert label.suggested_label == "3" and label.source == "annotator"
