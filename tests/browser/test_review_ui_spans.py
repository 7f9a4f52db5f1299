"""The labeling UI on a span (NER) dataset, in a real headless Chromium against review-api
with the real broker and Postgres: the text shows the suggested entities highlighted with
their labels; Left/Right move between words, Shift+Right extends a selection, a number key
labels the selection (or relabels the entity under the cursor), Backspace deletes the entity
under the cursor, a mouse selection snaps to whole words and takes a number key too, and
Enter submits the entities. The first task is corrected that way, the second confirmed
unchanged with Enter; both labels reach mitl.labels.v1 with their spans and what changed."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.spans import spans_key
from mitl_review.settings import Settings
from mitl_runtime.localinfra import free_port
from playwright.sync_api import Page, expect, sync_playwright

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

LABELS = ["PER", "LOC", "ORG"]  # keys 1, 2, 3
TEXT = "Ada Lovelace met Charles Babbage in London about the Analytical Engine today"
# Words: 0 Ada [0,3)  1 Lovelace [4,12)  2 met  3 Charles [17,24)  4 Babbage [25,32)  5 in
# 6 London [36,42)  7 about  8 the  9 Analytical [53,63)  10 Engine [64,70)  11 today [71,76)
SUGGESTED = [
    {"start": 0, "end": 12, "label": "PER", "confidence": 0.93},
    {"start": 36, "end": 42, "label": "ORG", "confidence": 0.52},
    {"start": 71, "end": 76, "label": "PER", "confidence": 0.41},
]
SECOND_TEXT = "Grace Hopper worked in Arlington"
SECOND = [
    {"start": 0, "end": 12, "label": "PER", "confidence": 0.97},
    {"start": 23, "end": 32, "label": "LOC", "confidence": 0.88},
]
EXPECTED = "0:12:PER|17:32:PER|36:42:LOC|53:70:ORG"


def write_spans(path: Path, dataset: str) -> Path:
    path.write_text(f"datasets:\n  {dataset}:\n    task: spans\n    labels: {LABELS}\n")
    return path


def key_of(spans: list[dict[str, Any]]) -> str:
    return "|".join(f"{s['start']}:{s['end']}:{s['label']}" for s in spans)


def request(
    dataset: str, n: int, text: str, spans: list[dict[str, Any]], priority: float
) -> dict[str, Any]:
    return {
        "event_id": f"rr-{dataset}-{n}",
        "dataset": dataset,
        "item_id": f"item-{dataset}-{n}",
        "batch_id": "batch-1",
        "decision_event_id": f"decision-{dataset}-{n}",
        "queue": "annotator",
        "priority": priority,
        "reason": "least certain span at 0.410, under its threshold 0.900",
        "content": {"text": text, "metadata": {}},
        "suggested_label": key_of(spans),
        "suggested_spans": spans,
        "spans_complete": 0.8,
        "confidence": min(s["confidence"] for s in spans),
        "labels": LABELS,
        "probabilities": [0.5, 0.2, 0.3],
        "model_version": "ner-m1",
        "policy_version": "ner-v1",
    }


@pytest.fixture
def server(service_env: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    dataset = f"ner-{uuid.uuid4().hex[:6]}"
    port = free_port()
    settings = Settings(
        **{
            **service_env,
            "datasets_file": write_spans(tmp_path / "datasets.yaml", dataset),
            "http_port": port,
            "gold_rate": 0.0,
        }
    )
    with served(settings) as url:
        yield Server(url, dataset, settings)


def drag_across(page: Page, first: str, last: str) -> None:
    """Select text with the mouse from the middle of word segment `first` to the middle of
    `last` (CSS selectors), as a person drags."""
    start = page.locator(first).bounding_box()
    end = page.locator(last).bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=5)
    page.mouse.up()


def test_mark_spans_with_keys_and_mouse_and_confirm_with_enter(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser` (apt-get install chromium)"
    ds, kafka = server.dataset, server.settings.kafka_bootstrap_servers
    _, admin_token = create_user(server.settings, "admin", monkeypatch, capsys)
    name, token = create_user(server.settings, "annotator", monkeypatch, capsys)
    first = request(ds, 1, TEXT, SUGGESTED, priority=0.9)
    second = request(ds, 2, SECOND_TEXT, SECOND, priority=0.5)
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

            item = page.locator("#item")
            expect(item).to_have_attribute("role", "application")
            expect(item).to_have_attribute("aria-label", re.compile("Shift extends a selection"))
            expect(page.locator("#suggestion")).to_contain_text("Model suggests 3 entities")
            # The suggested entities, highlighted with their labels after them, and listed.
            expect(item.locator(".span-tag")).to_have_text(["PER", "ORG", "PER"])
            entities = page.locator("#span-list li")
            expect(entities).to_have_count(3)
            expect(entities.nth(0)).to_contain_text("PER “Ada Lovelace” (0–12) 93%")
            expect(item.locator(".tok.cursor")).to_have_text("Ada")

            # Right x3 to "Charles", Shift+Right to take "Babbage" too, 1 = PER.
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            expect(item.locator(".tok.cursor")).to_have_text("Charles")
            page.keyboard.press("Shift+ArrowRight")
            expect(item.locator(".tok.selected")).to_have_text(["Charles", "Babbage"])
            page.keyboard.press("1")
            expect(page.locator("#status")).to_contain_text("Marked “Charles Babbage” as PER.")
            expect(item.locator(".tok.selected")).to_have_count(0)
            # Right x2 to "London" (suggested ORG), 2 relabels it LOC.
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")
            expect(page.locator("#status")).to_contain_text("in ORG “London”")
            page.keyboard.press("2")
            expect(page.locator("#status")).to_contain_text("Relabelled “London” as LOC.")
            # Right, Left, Right: the cursor moves both ways; then to "today" and delete it.
            for key in ["ArrowRight", "ArrowLeft"] + ["ArrowRight"] * 5:
                page.keyboard.press(key)
            expect(item.locator(".tok.cursor")).to_have_text("today")
            page.keyboard.press("Backspace")
            expect(page.locator("#status")).to_contain_text("Deleted PER “today”.")
            # The mouse: drag from inside "Analytical" to inside "Engine"; it snaps to both
            # whole words, and 3 labels them ORG.
            drag_across(page, '#item .tok[data-start="53"]', '#item .tok[data-start="64"]')
            expect(item.locator(".tok.selected")).to_have_text(["Analytical", "Engine"])
            page.keyboard.press("3")
            expect(page.locator("#status")).to_contain_text("Marked “Analytical Engine” as ORG.")
            expect(item.locator(".span-tag")).to_have_text(["PER", "PER", "LOC", "ORG"])
            expect(entities).to_have_count(4)
            page.keyboard.press("Enter")

            expect(page.locator("#status")).to_contain_text(f"Saved {EXPECTED}.")
            # The second task: its entities as suggested, Enter confirms them.
            expect(page.locator("#suggestion")).to_contain_text("Model suggests 2 entities")
            expect(item.locator(".span-tag")).to_have_text(["PER", "LOC"])
            page.keyboard.press("Enter")
            expect(page.locator("#status")).to_contain_text(
                f"Saved {key_of(SECOND)}. The queue is empty."
            )
            assert errors == []
        finally:
            context.close()

    labels = {e.item_id: e for e in labels_for(kafka, {first["item_id"], second["item_id"]})}
    corrected, confirmed = labels[first["item_id"]], labels[second["item_id"]]
    assert corrected.action == "correct" and corrected.is_override and corrected.annotator == name
    assert corrected.label == EXPECTED and spans_key(corrected.spans or []) == EXPECTED
    assert corrected.suggested_label == key_of(SUGGESTED)
    changes = corrected.span_changes
    assert changes is not None
    assert [s.key for s in changes.added] == ["17:32:PER", "53:70:ORG"]
    assert [s.key for s in changes.removed] == ["71:76:PER"]
    assert [s.key for s in changes.relabelled] == ["36:42:LOC"]
    assert confirmed.action == "confirm" and not confirmed.is_override
    assert confirmed.label == key_of(SECOND) and confirmed.span_changes is not None
    assert confirmed.span_changes.empty
