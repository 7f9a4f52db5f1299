"""The loop for a multi-label dataset, every service its own process, over the real broker and
Postgres: Yeast vectors in over HTTP (one of the wrong length rejected with the reason); the
one-vs-rest model gives each label its own probability; the router routes by label set; an
annotator changes one item's label set over the review API; the audit log holds the override;
the export gives the item's label set, with what the person added and removed, in each format
audit offers for it (JSONL, Parquet, Label Studio, CSV, Hugging Face JSONL)."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from mitl_cli.stack import LocalStack
from mitl_ml.multilabel_data import load_yeast

from tests.e2e.loop import YEAST_LABELS as LABELS
from tests.e2e.loop import annotator, claim, exported, ingest, override, routed, submit

pytestmark = pytest.mark.e2e
ITEMS = 10


def test_label_sets_flow_to_review_audit_and_every_multilabel_export(
    task_stack: LocalStack,
) -> None:
    stack = task_stack
    data = load_yeast()
    # Genes the bootstrap model has not seen as a whole set (it trains on 300 of the rest).
    items = [
        {"external_id": f"gene-{n}", "vector": [float(v) for v in data.x[2000 + n]]}
        for n in range(ITEMS)
    ]
    short = {"external_id": "gene-short", "vector": [0.5] * 12}
    body = ingest(stack, "yeast", [*items, short])
    assert body["accepted"] == ITEMS and body["rejected"] == 1
    assert "103" in body["items"][-1]["reason"]

    routes = routed(stack, "yeast", ITEMS)
    assert routes["total"] == ITEMS and routes["review"] >= 1
    assert routes["accept"] + routes["review"] == ITEMS

    auth = annotator(stack)
    task = claim(stack, "yeast", auth)
    assert task["multilabel"] is True and task["labels"] == LABELS
    assert len(task["content"]["vector"]) == 103
    suggestion = task["suggestion"]
    suggested = sorted(x for x in suggestion["label"].split("|") if x)
    assert set(suggestion["probabilities"]) == set(LABELS)
    # The person's set: the suggestion with Class1 toggled.
    chosen = sorted(set(suggested) ^ {"Class1"})
    bad = submit(stack, task["task_id"], auth, {"action": "correct", "labels": ["Class99"]})
    assert bad.status_code == 422 and "Class99" in bad.json()["detail"]
    done = submit(
        stack, task["task_id"], auth, {"action": "correct", "labels": chosen, "time_spent_ms": 2100}
    )
    assert done.status_code == 200, done.text

    row = override(stack, "yeast", task["item_id"])
    assert row["label"] == "|".join(chosen) and row["suggested_label"] == "|".join(suggested)
    assert row["model_version"] == "yeast-ovr-bootstrap-s0"

    item_id = task["item_id"]
    lines = exported(stack, "yeast", "jsonl", item_id).text.splitlines()
    [mine] = [r for r in map(json.loads, lines) if r["item_id"] == item_id]
    assert mine["labels"] == chosen and mine["label"] == "|".join(chosen)
    provenance = mine["provenance"]
    assert provenance["source"] == "annotator" and provenance["action"] == "correct"
    assert provenance["overrides_model"] and provenance["model_version"] == row["model_version"]
    changed = set(provenance["labels_added"]) | set(provenance["labels_removed"])
    assert changed == {"Class1"}

    table = pq.read_table(io.BytesIO(exported(stack, "yeast", "parquet").content)).to_pylist()
    [parquet] = [r for r in table if r["item_id"] == item_id]
    assert parquet["labels"] == chosen
    assert parquet["provenance"]["labels_added"] == provenance["labels_added"]

    ls_tasks = exported(stack, "yeast", "label-studio", item_id).json()
    [ls_task] = [t for t in ls_tasks if t["data"]["item_id"] == item_id]
    assert ls_task["annotations"][0]["result"][0]["value"]["choices"] == chosen
    assert ls_task["predictions"][0]["result"][0]["value"]["choices"] == suggested
    assert ls_task["predictions"][0]["model_version"] == row["model_version"]

    records = csv.DictReader(io.StringIO(exported(stack, "yeast", "csv", item_id).text))
    [cells] = [r for r in records if r["item_id"] == item_id]
    assert cells["label"] == "|".join(chosen) and cells["provenance.action"] == "correct"

    hf = exported(stack, "yeast", "hf-jsonl", item_id).text.splitlines()
    [flat] = [r for r in map(json.loads, hf) if r["item_id"] == item_id]
    assert flat["label"] == "|".join(chosen) and flat["provenance_source"] == "annotator"
