"""The labeling UI on a multi-label dataset, in a real headless Chromium against review-api
with the real broker and Postgres: the suggested label set is shown pressed; number keys
toggle labels (Shift with a number for labels 11 and up), Enter confirms the set as it stands,
keyboard only. The first task is confirmed unchanged, the second corrected; both labels reach
mitl.labels.v1 with the label set and what the person added and removed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
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

LABELS = [f"F{n}" for n in range(1, 13)]  # 12 labels: F11 and F12 take Shift+1 and Shift+2


def write_multilabel(path: Path, dataset: str) -> Path:
    path.write_text(
        "datasets:\n"
        f"  {dataset}:\n"
        "    task: multilabel\n"
        "    input_kind: vector\n"
        "    vector_dim: 3\n"
        f"    labels: {LABELS}\n"
    )
    return path


def request(dataset: str, n: int, present: list[str], priority: float) -> dict[str, Any]:
    per_label = {label: (0.8 if label in present else 0.2) for label in LABELS}
    total = sum(per_label.values())
    return {
        "event_id": f"rr-{dataset}-{n}",
        "dataset": dataset,
        "item_id": f"item-{dataset}-{n}",
        "batch_id": "batch-1",
        "decision_event_id": f"decision-{dataset}-{n}",
        "queue": "annotator",
        "priority": priority,
        "reason": "label F2 in at confidence 0.800, under its threshold 0.950",
        "content": {"vector": [0.5, float(n), 2.0], "metadata": {}},
        "suggested_label": "|".join(sorted(present)),
        "suggested_labels": sorted(present),
        "confidence": 0.8,
        "labels": LABELS,
        "probabilities": [per_label[label] / total for label in LABELS],
        "label_probabilities": per_label,
        "model_version": "yeast-ovr-m1",
        "policy_version": "yeast-v1",
    }


@pytest.fixture
def server(service_env: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    dataset = f"ml-{uuid.uuid4().hex[:6]}"
    port = free_port()
    settings = Settings(
        **{
            **service_env,
            "datasets_file": write_multilabel(tmp_path / "datasets.yaml", dataset),
            "http_port": port,
            "gold_rate": 0.0,
        }
    )
    with served(settings) as url:
        yield Server(url, dataset, settings)


def test_toggle_labels_with_number_keys_and_confirm_with_enter(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser` (apt-get install chromium)"
    ds, kafka = server.dataset, server.settings.kafka_bootstrap_servers
    _, admin_token = create_user(server.settings, "admin", monkeypatch, capsys)
    name, token = create_user(server.settings, "annotator", monkeypatch, capsys)
    first = request(ds, 1, ["F1", "F2"], priority=0.9)
    second = request(ds, 2, ["F1", "F3"], priority=0.5)
    events = [json.dumps(e).encode() for e in (first, second)]
    asyncio.run(publish_raw(kafka, topics.REVIEW_REQUESTED, events))
    waiting(server, admin_token, 2)

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
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server.url)
            expect(page.locator("#token")).to_be_focused()
            page.keyboard.type(token)
            page.keyboard.press("Enter")
            expect(page.locator("#whoami")).to_have_text(f"{name} (annotator)")
            expect(page.locator("#dataset")).to_be_focused()
            page.locator("#dataset").select_option(ds)
            # Enter on the picker itself: a bare key press goes wherever the focus happens to be.
            page.locator("#dataset").press("Enter")

            expect(page.locator("#item")).to_contain_text("vector of 3 values: [0.5, 1, 2]")
            expect(page.locator("#suggestion")).to_contain_text("Model suggests {F1, F2}")
            buttons = page.locator("#labels button")
            expect(buttons).to_have_count(12)
            pressed = page.locator("#labels button[aria-pressed=true]")
            expect(pressed).to_have_count(2)
            expect(buttons.nth(10).locator(".key")).to_have_text("⇧1")
            # Toggling a label out and back in leaves the suggestion: Enter confirms it.
            page.keyboard.press("2")
            expect(pressed).to_have_count(1)
            page.keyboard.press("2")
            expect(pressed).to_have_count(2)
            page.keyboard.press("Enter")

            expect(page.locator("#status")).to_contain_text("Saved F1|F2.")
            expect(page.locator("#suggestion")).to_contain_text("Model suggests {F1, F3}")
            # Correct {F1, F3} to {F1, F4, F11}: 3 out, 4 in, Shift+1 for F11.
            page.keyboard.press("3")
            page.keyboard.press("4")
            page.keyboard.press("Shift+1")
            expect(buttons.nth(10)).to_have_attribute("aria-pressed", "true")
            expect(buttons.nth(2)).to_have_attribute("aria-pressed", "false")
            expect(pressed).to_have_count(3)
            page.keyboard.press("Enter")
            expect(page.locator("#status")).to_contain_text("Saved F1|F11|F4. The queue is empty.")
            assert errors == []
        finally:
            context.close()

    labels = {e.item_id: e for e in labels_for(kafka, {first["item_id"], second["item_id"]})}
    confirmed, corrected = labels[first["item_id"]], labels[second["item_id"]]
    assert (confirmed.action, confirmed.labels, confirmed.is_override) == (
        "confirm", ["F1", "F2"], False,
    )  # fmt: skip
    assert corrected.action == "correct" and corrected.labels == ["F1", "F11", "F4"]
    assert corrected.suggested_labels == ["F1", "F3"] and corrected.is_override
    assert corrected.labels_added == ["F11", "F4"] and corrected.labels_removed == ["F3"]
    assert corrected.annotator == name
