"""The loop for an image dataset, every service its own process, over the real broker and
Postgres: digit PNGs in over HTTP (a broken one rejected with the reason); the pixels model
scores them; some are auto-accepted, some queued; an annotator sees the image in the task and
corrects one; the audit log holds the override; the export references each image, and audit
serves the bytes the reference names."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest
from mitl_cli.stack import LocalStack
from mitl_ml.datasets import load_image_dataset

from tests.e2e.loop import (
    annotator,
    claim,
    exported,
    ingest,
    override,
    routed,
    submit,
)
from tests.support_images import truncated_png

pytestmark = pytest.mark.e2e
ITEMS = 60


def test_image_items_flow_to_labels_review_audit_and_export(
    task_stack: LocalStack,
) -> None:
    stack = task_stack
    # Held-out digits (the model was trained on its own seed of 100).
    examples = load_image_dataset("digits").examples[-ITEMS:]
    items = [
        {"external_id": f"scan-{n}", "image": base64.b64encode(e.image or b"").decode()}
        for n, e in enumerate(examples)
    ]
    broken = {"external_id": "scan-broken", "image": base64.b64encode(truncated_png()).decode()}
    body = ingest(stack, "digits", [*items, broken])
    assert body["accepted"] == ITEMS and body["rejected"] == 1
    assert "image does not decode" in body["items"][-1]["reason"]

    routes = routed(stack, "digits", ITEMS)
    assert routes["total"] == ITEMS and routes["accept"] > 0 and routes["review"] > 0

    auth = annotator(stack)
    task = claim(stack, "digits", auth)
    shown = base64.b64decode(task["content"]["image"])
    assert shown in {e.image for e in examples}
    suggested = task["suggestion"]["label"]
    corrected = next(label for label in task["labels"] if label != suggested)
    body = {"action": "correct", "label": corrected, "time_spent_ms": 900}
    done = submit(stack, task["task_id"], auth, body)
    assert done.status_code == 200, done.text

    row = override(stack, "digits", task["item_id"])
    assert (row["suggested_label"], row["label"]) == (suggested, corrected)
    assert row["model_version"] == "digits-pixels-bootstrap-s0"

    export = exported(stack, "digits", "jsonl", task["item_id"])
    rows = {r["item_id"]: r for r in map(json.loads, export.text.splitlines())}
    mine = rows[task["item_id"]]
    assert mine["label"] == corrected and mine["provenance"]["action"] == "correct"
    assert mine["image_sha256"] == hashlib.sha256(shown).hexdigest()
    assert task["content"]["image"] not in export.text
    image = httpx.get(
        f"{stack.url('audit')}{mine['image']}", headers=stack.auditor_headers, timeout=10
    )
    assert image.status_code == 200 and image.content == shown
